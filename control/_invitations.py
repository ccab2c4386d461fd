"""Invitations to a workspace: by e-mail, with a single-use token, a role and an expiry; revocable."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ._convert import utc, utc_or_none
from ._people_schema import INVITATIONS
from ._records import ROLES, Invitation, hash_secret

__all__ = ["accept_invitation", "create_invitation", "invitation_by_token", "list_invitations", "revoke_invitation"]


def _invitation(row: Any) -> Invitation:
    return Invitation(
        row.id,
        row.workspace,
        row.email,
        row.role,
        row.invited_by,
        utc(row.created_at),
        utc(row.expires_at),
        utc_or_none(row.accepted_at),
        utc_or_none(row.revoked_at),
    )


def create_invitation(
    conn: Connection, workspace: str, email: str, role: str, invited_by: str, ttl: timedelta
) -> tuple[Invitation, str]:
    """The invitation and its token (shown once, in the link)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    values = {
        "id": "inv_" + secrets.token_hex(8),
        "workspace": workspace,
        "email": email.lower(),
        "role": role,
        "token_hash": hash_secret(token),
        "invited_by": invited_by[:200],
        "created_at": now,
        "expires_at": now + ttl,
    }
    conn.execute(insert(INVITATIONS).values(values))
    return _invitation(conn.execute(select(INVITATIONS).where(INVITATIONS.c.id == values["id"])).one()), token


def invitation_by_token(conn: Connection, token: str) -> Invitation | None:
    row = conn.execute(select(INVITATIONS).where(INVITATIONS.c.token_hash == hash_secret(token))).first()
    return None if row is None else _invitation(row)


def accept_invitation(conn: Connection, token: str, user_id: str) -> tuple[Invitation | None, str]:
    """Use the invitation for ``user_id``: it, or None and why ("unknown", "used", "expired",
    "revoked"). One UPDATE that re-checks every condition decides between racing acceptances."""
    found = invitation_by_token(conn, token)
    if found is None:
        return None, "unknown"
    why = found.status()
    if why != "pending":
        return None, why
    now = datetime.now(UTC)
    taken = conn.execute(
        update(INVITATIONS)
        .where(
            INVITATIONS.c.id == found.id,
            INVITATIONS.c.accepted_at.is_(None),
            INVITATIONS.c.revoked_at.is_(None),
            INVITATIONS.c.expires_at > now,
        )
        .values(accepted_at=now, accepted_by=user_id)
    ).rowcount
    return (found, "") if taken == 1 else (None, "used")


def list_invitations(conn: Connection, workspace: str) -> list[Invitation]:
    rows = conn.execute(
        select(INVITATIONS).where(INVITATIONS.c.workspace == workspace).order_by(INVITATIONS.c.created_at.desc())
    ).all()
    return [_invitation(r) for r in rows]


def revoke_invitation(conn: Connection, workspace: str, invitation_id: str) -> bool:
    return bool(
        conn.execute(
            update(INVITATIONS)
            .where(
                INVITATIONS.c.workspace == workspace,
                INVITATIONS.c.id == invitation_id,
                INVITATIONS.c.accepted_at.is_(None),
                INVITATIONS.c.revoked_at.is_(None),
            )
            .values(revoked_at=datetime.now(UTC))
        ).rowcount
    )
