"""Single-use links (verify an address, reset a password, claim the first owner) and OpenID Connect
sign-ins in flight. Only a token's SHA-256 is stored; a link is used by one UPDATE that also checks
it is unused and unexpired, so two clicks racing use it once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ._convert import utc
from ._people_schema import LINKS, OIDC_FLOWS
from ._records import hash_secret

__all__ = [
    "PURPOSES",
    "Flow",
    "Link",
    "create_link",
    "expire_links",
    "links_sent_since",
    "peek_link",
    "start_flow",
    "take_flow",
    "use_link",
]

PURPOSES = ("verify", "reset", "first_owner")


@dataclass(frozen=True, slots=True)
class Link:
    purpose: str
    email: str | None
    user_id: str | None
    data: dict[str, Any]
    expires_at: datetime


def create_link(
    conn: Connection,
    purpose: str,
    ttl: timedelta,
    email: str | None = None,
    user_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> str:
    """A new link's token (shown once; only its hash is kept)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute(
        insert(LINKS).values(
            token_hash=hash_secret(token),
            purpose=purpose,
            email=email,
            user_id=user_id,
            data=data or {},
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


def peek_link(conn: Connection, token: str, purpose: str) -> tuple[Link | None, str]:
    """The link, if usable, else None and why: "unknown", "used" or "expired"."""
    row = conn.execute(
        select(LINKS).where(LINKS.c.token_hash == hash_secret(token), LINKS.c.purpose == purpose)
    ).first()
    if row is None:
        return None, "unknown"
    if row.used_at is not None:
        return None, "used"
    if utc(row.expires_at) <= datetime.now(UTC):
        return None, "expired"
    return Link(row.purpose, row.email, row.user_id, dict(row.data), utc(row.expires_at)), ""


def use_link(conn: Connection, token: str, purpose: str) -> tuple[Link | None, str]:
    """Mark the link used and return it; or None and why (see ``peek_link``)."""
    link, why = peek_link(conn, token, purpose)
    if link is None:
        return None, why
    now = datetime.now(UTC)
    used = conn.execute(
        update(LINKS)
        .where(LINKS.c.token_hash == hash_secret(token), LINKS.c.used_at.is_(None), LINKS.c.expires_at > now)
        .values(used_at=now)
    ).rowcount
    return (link, "") if used == 1 else (None, "used")


def expire_links(conn: Connection, purpose: str, email: str | None = None, user_id: str | None = None) -> None:
    """End every unused link of this purpose for this address or user (a new one replaces them)."""
    where = [LINKS.c.purpose == purpose, LINKS.c.used_at.is_(None)]
    where.append(LINKS.c.email == email if email is not None else LINKS.c.user_id == user_id)
    conn.execute(update(LINKS).where(*where).values(expires_at=datetime.now(UTC)))


def links_sent_since(conn: Connection, purpose: str, email: str, since: datetime) -> int:
    rows = conn.execute(
        select(LINKS.c.token_hash).where(
            LINKS.c.purpose == purpose, LINKS.c.email == email, LINKS.c.created_at >= since
        )
    ).all()
    return len(rows)


@dataclass(frozen=True, slots=True)
class Flow:
    provider: str
    nonce: str
    code_verifier: str
    next: str
    invitation: str | None


def start_flow(conn: Connection, state: str, browser: str, flow: Flow, ttl: timedelta) -> None:
    now = datetime.now(UTC)
    conn.execute(delete(OIDC_FLOWS).where(OIDC_FLOWS.c.expires_at < now))
    conn.execute(
        insert(OIDC_FLOWS).values(
            state_hash=hash_secret(state),
            browser_hash=hash_secret(browser),
            provider=flow.provider,
            nonce=flow.nonce,
            code_verifier=flow.code_verifier,
            next=flow.next,
            invitation=flow.invitation,
            expires_at=now + ttl,
        )
    )


def take_flow(conn: Connection, state: str, browser: str) -> Flow | None:
    """The flow ``state`` names, if this browser started it and it is unexpired; used once."""
    row = conn.execute(select(OIDC_FLOWS).where(OIDC_FLOWS.c.state_hash == hash_secret(state))).first()
    if row is None:
        return None
    conn.execute(delete(OIDC_FLOWS).where(OIDC_FLOWS.c.state_hash == row.state_hash))
    if row.browser_hash != hash_secret(browser) or utc(row.expires_at) <= datetime.now(UTC):
        return None
    return Flow(row.provider, row.nonce, row.code_verifier, row.next, row.invitation)
