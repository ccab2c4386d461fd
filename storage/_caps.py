"""Spending caps: one row per cap, the newest version wins; a deleted cap leaves a tombstone row.

What a cap is (scopes, periods, enforcement) is validated by the API; storage keeps it as given.
Thresholds are exact decimal strings (``0.8``), so a crossing is never a float rounding question.
A cap's webhook secret signs its webhook payloads, so it must be readable to sign with: it is kept
as is (the store has no encryption at rest; API keys can be hashed only because they are just compared).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from clickhouse_connect.driver.client import Client

__all__ = [
    "MAX_CAPS",
    "StoredCap",
    "delete_cap",
    "list_caps",
    "new_cap_id",
    "new_webhook_secret",
    "put_cap",
    "tenants_with_caps",
]

MAX_CAPS = 10_000
"""Per tenant: a SaaS's per-customer needs are one ``each_customer`` template, not a cap per customer."""

_COLUMNS = [
    "tenant",
    "cap_id",
    "name",
    "scope",
    "value",
    "period",
    "time_zone",
    "limit_usd",
    "thresholds",
    "enforcement",
    "recipients",
    "webhooks",
    "webhook_secret",
    "enabled",
    "created_at",
    "updated_at",
    "deleted",
    "version",
]


@dataclass(frozen=True, slots=True)
class StoredCap:
    cap_id: str
    name: str
    scope: str
    value: str
    period: str
    time_zone: str
    limit_usd: Decimal
    thresholds: tuple[Decimal, ...]
    enforcement: str
    recipients: tuple[str, ...]
    webhooks: tuple[str, ...]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    webhook_secret: str = field(default="", repr=False)  # kept out of logs
    """Signs the cap's webhook payloads; ``put_cap`` gives a cap without one a new one."""


def _ms(value: datetime) -> datetime:
    """As stored: UTC, to the millisecond (what reads give back must equal what a write answered)."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def new_cap_id() -> str:
    return "cap_" + secrets.token_hex(8)


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _row(tenant: str, cap: StoredCap, deleted: bool) -> list[object]:
    return [
        tenant,
        cap.cap_id,
        cap.name,
        cap.scope,
        cap.value,
        cap.period,
        cap.time_zone,
        cap.limit_usd,
        [str(t) for t in cap.thresholds],
        cap.enforcement,
        list(cap.recipients),
        list(cap.webhooks),
        cap.webhook_secret,
        cap.enabled,
        cap.created_at,
        cap.updated_at,
        deleted,
        time.time_ns(),
    ]


def put_cap(client: Client, tenant: str, cap: StoredCap) -> StoredCap:
    """Create or replace ``cap`` (stamped with the time of this write)."""
    cap = replace(
        cap,
        created_at=_ms(cap.created_at),
        updated_at=_ms(datetime.now(UTC)),
        webhook_secret=cap.webhook_secret or new_webhook_secret(),
    )
    client.insert("caps", [_row(tenant, cap, False)], column_names=_COLUMNS)
    return cap


def list_caps(client: Client, tenant: str, cap_id: str | None = None) -> list[StoredCap]:
    """The tenant's caps (or the one with ``cap_id``), oldest first."""
    rows = client.query(
        f"SELECT {', '.join(_COLUMNS[1:-2])} FROM caps FINAL WHERE tenant = {{t:String}} AND NOT deleted "
        + ("AND cap_id = {id:String} " if cap_id is not None else "")
        + "ORDER BY created_at, cap_id",
        parameters={"t": tenant, "id": cap_id},
    ).result_rows
    return [
        StoredCap(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            Decimal(row[6]),
            tuple(Decimal(t) for t in row[7]),
            row[8],
            tuple(row[9]),
            tuple(row[10]),
            row[12],
            _ms(row[13]),
            _ms(row[14]),
            row[11],
        )
        for row in rows
    ]


def delete_cap(client: Client, tenant: str, cap_id: str) -> bool:
    found = list_caps(client, tenant, cap_id)
    if not found:
        return False
    client.insert("caps", [_row(tenant, found[0], True)], column_names=_COLUMNS)
    return True


def tenants_with_caps(client: Client) -> list[str]:
    """Tenants with at least one enabled cap: the ones the cap monitor watches."""
    return [
        t
        for (t,) in client.query(
            "SELECT DISTINCT tenant FROM caps FINAL WHERE NOT deleted AND enabled ORDER BY tenant"
        ).result_rows
    ]
