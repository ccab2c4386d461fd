"""E-mail recipients of spending alerts, per tenant: an address gets alerts only once it has confirmed.

One row per (tenant, lower-cased address), the newest version wins. Only the SHA-256 of a
confirmation token is kept (as for API keys), so the store never holds a link that confirms. The
hash stays on the row after use, so a second use is told "already used" rather than "unknown".
``sends`` keeps when confirmation e-mails went out in the last day: a re-sent link replaces the
row, so its send times are what counts the tenant's daily bound exactly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

__all__ = [
    "Recipient",
    "confirmation_mails_since",
    "confirmed_recipients",
    "put_recipient",
    "recipient_by_token",
    "recipients",
]

_COLUMNS = ["tenant", "address", "token_hash", "requested_at", "confirmed_at", "sends", "version"]


@dataclass(frozen=True, slots=True)
class Recipient:
    tenant: str
    address: str  # lower-cased
    token_hash: str  # of the newest link; "" when none was sent
    requested_at: datetime | None  # when the newest link was sent
    confirmed_at: datetime | None
    sends: tuple[datetime, ...] = ()  # confirmation e-mails of the last day


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _recipient(row: Sequence[Any]) -> Recipient:
    tenant, address, token_hash, requested, confirmed, sends = row
    return Recipient(
        tenant,
        address,
        token_hash,
        _utc(requested) if requested is not None else None,
        _utc(confirmed) if confirmed is not None else None,
        tuple(_utc(s) for s in sends),
    )


def _select(client: Client, where: str, parameters: dict[str, object]) -> list[Recipient]:
    rows = client.query(
        f"SELECT {', '.join(_COLUMNS[:-1])} FROM recipients FINAL WHERE {where}", parameters=parameters
    ).result_rows
    return [_recipient(row) for row in rows]


def recipients(client: Client, tenant: str) -> dict[str, Recipient]:
    """The tenant's recipients that were ever sent a link or confirmed, by lower-cased address."""
    return {r.address: r for r in _select(client, "tenant = {t:String}", {"t": tenant})}


def confirmed_recipients(client: Client, tenant: str) -> frozenset[str]:
    """The tenant's confirmed addresses, lower-cased: the only ones alert e-mails may go to."""
    # A confirmation is never withdrawn, so filtering before or after FINAL's merge agrees.
    return frozenset(
        r.address for r in _select(client, "tenant = {t:String} AND confirmed_at IS NOT NULL", {"t": tenant})
    )


def confirmation_mails_since(client: Client, tenant: str, since: datetime) -> int:
    rows = client.query(
        "SELECT sum(arrayCount(s -> s >= {since:DateTime64(3, 'UTC')}, sends)) FROM recipients FINAL "
        "WHERE tenant = {t:String}",
        parameters={"t": tenant, "since": since},
    ).result_rows
    return int(rows[0][0] or 0)


def recipient_by_token(client: Client, token_hash: str) -> Recipient | None:
    """The recipient whose newest link has this hash; None for an unknown hash or a replaced link."""
    if not token_hash:
        return None
    # Any version may hold the hash; only the current row says whether it is still the live link.
    found = client.query(
        "SELECT tenant, address FROM recipients WHERE token_hash = {h:String} LIMIT 1", parameters={"h": token_hash}
    ).result_rows
    if not found:
        return None
    tenant, address = found[0]
    current = _select(client, "tenant = {t:String} AND address = {a:String}", {"t": tenant, "a": address})
    return current[0] if current and current[0].token_hash == token_hash else None


def put_recipient(client: Client, recipient: Recipient) -> None:
    client.insert(
        "recipients",
        [
            [
                recipient.tenant,
                recipient.address,
                recipient.token_hash,
                recipient.requested_at,
                recipient.confirmed_at,
                list(recipient.sends),
                time.time_ns(),
            ]
        ],
        column_names=_COLUMNS,
    )
