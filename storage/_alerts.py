"""Alert history: one row per threshold crossing (or test notification), the newest version wins.

An alert's id is derived from what it is about (cap, subject, period, limit, threshold), so the
row written before notifying is also the record that it must never fire again, across restarts.
Its deliveries are added by a later version of the row once the notifiers have answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

__all__ = ["MAX_ALERTS_LISTED", "StoredAlert", "fired_alert_ids", "list_alerts", "put_alerts"]

MAX_ALERTS_LISTED = 1000

_COLUMNS = [
    "tenant",
    "alert_id",
    "cap_id",
    "cap_name",
    "scope",
    "subject",
    "threshold",
    "spend_usd",
    "limit_usd",
    "period",
    "period_start",
    "resets_at",
    "fired_at",
    "test",
    "delivered",
    "deliveries",
    "version",
]


@dataclass(frozen=True, slots=True)
class StoredAlert:
    alert_id: str
    cap_id: str
    cap_name: str
    scope: str
    subject: str  # the scope's value, or the customer of an each_customer cap
    threshold: Decimal
    spend_usd: Decimal
    limit_usd: Decimal
    period: str
    period_start: datetime
    resets_at: datetime | None
    fired_at: datetime
    test: bool = False
    delivered: bool = False
    deliveries: tuple[dict[str, object], ...] = field(default=())


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def put_alerts(client: Client, tenant: str, alerts: list[StoredAlert]) -> None:
    """Write (or re-version) alerts in one insert."""
    version = time.time_ns()
    client.insert(
        "alerts",
        [
            [
                tenant,
                a.alert_id,
                a.cap_id,
                a.cap_name,
                a.scope,
                a.subject,
                a.threshold,
                a.spend_usd,
                a.limit_usd,
                a.period,
                a.period_start,
                a.resets_at,
                a.fired_at,
                a.test,
                a.delivered,
                json.dumps(list(a.deliveries)),
                version,
            ]
            for a in alerts
        ],
        column_names=_COLUMNS,
    )


def _alert(row: Sequence[Any]) -> StoredAlert:
    return StoredAlert(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        Decimal(row[5]),
        Decimal(row[6]),
        Decimal(row[7]),
        row[8],
        _utc(row[9]),
        _utc(row[10]) if row[10] is not None else None,
        _utc(row[11]),
        bool(row[12]),
        bool(row[13]),
        tuple(json.loads(row[14] or "[]")),
    )


def list_alerts(
    client: Client, tenant: str, cap_id: str | None = None, limit: int = 100, undelivered_only: bool = False
) -> list[StoredAlert]:
    """The tenant's alerts, newest first."""
    where = "tenant = {t:String}" + (" AND cap_id = {c:String}" if cap_id else "")
    if undelivered_only:
        where += " AND NOT delivered AND NOT test"
    rows = client.query(
        f"SELECT {', '.join(_COLUMNS[1:-1])} FROM alerts FINAL WHERE {where} "
        "ORDER BY fired_at DESC, alert_id LIMIT {n:UInt32}",
        parameters={"t": tenant, "c": cap_id, "n": min(limit, MAX_ALERTS_LISTED)},
    ).result_rows
    return [_alert(row) for row in rows]


def fired_alert_ids(client: Client, since: datetime) -> dict[str, set[str]]:
    """Per tenant, the ids of every real alert of periods that started at or after ``since``
    (the earliest start of any cap's current period): what must not fire again."""
    rows = client.query(
        "SELECT tenant, groupArray(alert_id) FROM (SELECT DISTINCT tenant, alert_id FROM alerts "
        "WHERE NOT test AND period_start >= {s:DateTime64(3, 'UTC')}) GROUP BY tenant",
        parameters={"s": since},
    ).result_rows
    return {tenant: set(ids) for tenant, ids in rows}
