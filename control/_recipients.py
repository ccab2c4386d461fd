"""E-mail recipients of spending alerts: an address gets alerts only once it has confirmed.

One row per (workspace, lower-cased address). Only the SHA-256 of a confirmation token is kept, so
the store never holds a link that confirms; the hash stays on the row after use, so a second use
is told "already used" rather than "unknown". ``sends`` keeps when confirmation e-mails went out in
the last day: what counts the workspace's daily bound exactly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ._convert import utc, utc_or_none
from ._records import Recipient
from ._schema import RECIPIENTS
from ._upsert import upsert

__all__ = ["confirmation_mails_since", "confirmed_recipients", "put_recipient", "recipient_by_token", "recipients"]


def _recipient(row: Any) -> Recipient:
    return Recipient(
        row.workspace,
        row.address,
        row.token_hash,
        utc_or_none(row.requested_at),
        utc_or_none(row.confirmed_at),
        tuple(utc(datetime.fromisoformat(s)) for s in row.sends),
    )


def recipients(conn: Connection, workspace: str) -> dict[str, Recipient]:
    rows = conn.execute(select(RECIPIENTS).where(RECIPIENTS.c.workspace == workspace))
    return {r.address: r for r in map(_recipient, rows)}


def confirmed_recipients(conn: Connection, workspace: str) -> frozenset[str]:
    query = select(RECIPIENTS.c.address).where(
        RECIPIENTS.c.workspace == workspace, RECIPIENTS.c.confirmed_at.is_not(None)
    )
    return frozenset(a for (a,) in conn.execute(query))


def confirmation_mails_since(conn: Connection, workspace: str, since: datetime) -> int:
    since = utc(since)
    rows = conn.execute(select(RECIPIENTS.c.sends).where(RECIPIENTS.c.workspace == workspace))
    return sum(1 for (sends,) in rows for s in sends if utc(datetime.fromisoformat(s)) >= since)


def recipient_by_token(conn: Connection, token_hash: str) -> Recipient | None:
    """The recipient whose newest link has this hash; None for an unknown hash or a replaced link."""
    if not token_hash:
        return None
    row = conn.execute(select(RECIPIENTS).where(RECIPIENTS.c.token_hash == token_hash)).first()
    return None if row is None else _recipient(row)


def put_recipient(conn: Connection, recipient: Recipient) -> None:
    values = {
        "workspace": recipient.tenant,
        "address": recipient.address,
        "token_hash": recipient.token_hash,
        "requested_at": utc_or_none(recipient.requested_at),
        "confirmed_at": utc_or_none(recipient.confirmed_at),
        "sends": [utc(s).isoformat() for s in recipient.sends],
    }
    upsert(conn, RECIPIENTS, values, ["workspace", "address"])
