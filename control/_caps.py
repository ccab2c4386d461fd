"""Spending caps and their alert history.

A cap is validated by the API; the store keeps it as given. Its webhook secret signs its webhook
payloads, so it must be readable to sign with: it is kept as is (API keys can be hashed only
because they are just compared).

An alert's id is derived from what it is about (cap, subject, period, limit, threshold) and is the
table's primary key: ``claim_alerts`` inserts only the ids nobody wrote yet and answers which it
inserted, so when two monitors see one crossing, one of them notifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, select, update

from ._convert import dec, ms, text, utc, utc_or_none
from ._keys import bump_counter
from ._records import StoredAlert, StoredCap, new_webhook_secret
from ._schema import ALERTS, CAPS, COUNTERS, WORKSPACES
from ._upsert import insert_new, upsert

__all__ = [
    "MAX_ALERTS_LISTED",
    "caps_changed_since",
    "claim_alerts",
    "delete_cap",
    "fired_alert_ids",
    "list_alerts",
    "list_caps",
    "record_deliveries",
    "put_cap",
    "workspaces_with_caps",
]

MAX_ALERTS_LISTED = 1000
_T = TypeVar("_T")


def cap_values(workspace: str, cap: StoredCap) -> dict[str, Any]:
    return {
        "cap_id": cap.cap_id,
        "workspace": workspace,
        "name": cap.name,
        "scope": cap.scope,
        "value": cap.value,
        "period": cap.period,
        "time_zone": cap.time_zone,
        "limit_usd": text(cap.limit_usd),
        "thresholds": [text(t) for t in cap.thresholds],
        "enforcement": cap.enforcement,
        "recipients": list(cap.recipients),
        "webhooks": list(cap.webhooks),
        "webhook_secret": cap.webhook_secret,
        "enabled": cap.enabled,
        "created_at": cap.created_at,
        "updated_at": cap.updated_at,
    }


def put_cap(conn: Connection, workspace: str, cap: StoredCap) -> StoredCap:
    """Create or replace ``cap`` (stamped with the time of this write)."""
    cap = replace(
        cap,
        created_at=ms(cap.created_at),
        updated_at=ms(datetime.now(UTC)),
        webhook_secret=cap.webhook_secret or new_webhook_secret(),
    )
    # A cap id of another workspace is never replaced (ids are random: that would be an attack).
    upsert(conn, CAPS, cap_values(workspace, cap), ["cap_id"], only_if=CAPS.c.workspace == workspace)
    _caps_changed(conn, workspace)
    return cap


def _caps_changed(conn: Connection, workspace: str) -> None:
    version = bump_counter(conn, "caps")
    conn.execute(update(WORKSPACES).where(WORKSPACES.c.id == workspace).values(caps_version=version))


def caps_changed_since(conn: Connection, version: int | None) -> tuple[int, list[str]]:
    """(the ``caps`` counter now, the workspaces whose caps changed after ``version``; none when
    ``version`` is None: a first look only learns where the counter stands)."""
    now = int(conn.execute(select(COUNTERS.c.value).where(COUNTERS.c.name == "caps")).scalar_one())
    if version is None or now == version:
        return now, []
    query = select(WORKSPACES.c.id).where(WORKSPACES.c.caps_version > version)
    return now, [w for (w,) in conn.execute(query)]


def _cap(row: Any) -> StoredCap:
    return StoredCap(
        row.cap_id,
        row.name,
        row.scope,
        row.value,
        row.period,
        row.time_zone,
        dec(row.limit_usd),
        tuple(dec(t) for t in row.thresholds),
        row.enforcement,
        tuple(row.recipients),
        tuple(row.webhooks),
        bool(row.enabled),
        ms(row.created_at),
        ms(row.updated_at),
        row.webhook_secret,
    )


def list_caps(conn: Connection, workspace: str, cap_id: str | None = None) -> list[StoredCap]:
    """The workspace's caps (or the one with ``cap_id``), oldest first."""
    query = select(CAPS).where(CAPS.c.workspace == workspace)
    if cap_id is not None:
        query = query.where(CAPS.c.cap_id == cap_id)
    return [_cap(r) for r in conn.execute(query.order_by(CAPS.c.created_at, CAPS.c.cap_id))]


def delete_cap(conn: Connection, workspace: str, cap_id: str) -> bool:
    deleted = bool(conn.execute(delete(CAPS).where(CAPS.c.workspace == workspace, CAPS.c.cap_id == cap_id)).rowcount)
    if deleted:
        _caps_changed(conn, workspace)
    return deleted


def workspaces_with_caps(conn: Connection) -> list[str]:
    """Workspaces with at least one enabled cap: the ones the cap monitor watches."""
    query = select(CAPS.c.workspace).distinct().where(CAPS.c.enabled.is_(True)).order_by(CAPS.c.workspace)
    return [w for (w,) in conn.execute(query)]


def _alert_values(workspace: str, alert: StoredAlert) -> dict[str, Any]:
    return {
        "alert_id": alert.alert_id,
        "workspace": workspace,
        "cap_id": alert.cap_id,
        "cap_name": alert.cap_name,
        "scope": alert.scope,
        "subject": alert.subject,
        "threshold": text(alert.threshold),
        "spend_usd": text(alert.spend_usd),
        "limit_usd": text(alert.limit_usd),
        "period": alert.period,
        "period_start": utc(alert.period_start),
        "resets_at": utc_or_none(alert.resets_at),
        "fired_at": utc(alert.fired_at),
        "test": alert.test,
        "delivered": alert.delivered,
        "deliveries": list(alert.deliveries),
    }


def claim_alerts(conn: Connection, workspace: str, alerts: Sequence[StoredAlert]) -> list[StoredAlert]:
    """Insert the alerts whose ids are not stored yet; returns those (the ones this caller fires)."""
    inserted: set[str] = set()
    # A second monitor inserting the same id waits for the first one's transaction, then inserts nothing.
    for part in _chunks(alerts):
        rows = [_alert_values(workspace, a) for a in part]
        inserted.update(insert_new(conn, ALERTS, rows, returning="alert_id"))
    return [a for a in alerts if a.alert_id in inserted]


def record_deliveries(
    conn: Connection, workspace: str, alert_ids: Sequence[str], deliveries: Sequence[dict[str, object]]
) -> None:
    """Mark the alerts delivered with one outcome (a digest's thousands of alerts share one message):
    one statement per few hundred ids, the outcome serialized once per statement."""
    for part in _chunks(alert_ids):
        conn.execute(
            update(ALERTS)
            .where(ALERTS.c.workspace == workspace, ALERTS.c.alert_id.in_(part))
            .values(delivered=True, deliveries=list(deliveries))
        )


def _chunks(items: Sequence[_T], size: int = 250) -> list[Sequence[_T]]:
    """A few hundred at a time: a digest writes thousands of alerts, and its rows are built per part
    (what the writing thread holds at once stays small)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def _alert(row: Any) -> StoredAlert:
    return StoredAlert(
        row.alert_id,
        row.cap_id,
        row.cap_name,
        row.scope,
        row.subject,
        dec(row.threshold),
        dec(row.spend_usd),
        dec(row.limit_usd),
        row.period,
        utc(row.period_start),
        utc_or_none(row.resets_at),
        utc(row.fired_at),
        bool(row.test),
        bool(row.delivered),
        tuple(row.deliveries or ()),
    )


def list_alerts(
    conn: Connection, workspace: str, cap_id: str | None = None, limit: int = 100, undelivered_only: bool = False
) -> list[StoredAlert]:
    """The workspace's alerts, newest first."""
    query = select(ALERTS).where(ALERTS.c.workspace == workspace)
    if cap_id:
        query = query.where(ALERTS.c.cap_id == cap_id)
    if undelivered_only:
        query = query.where(ALERTS.c.delivered.is_(False), ALERTS.c.test.is_(False))
    query = query.order_by(ALERTS.c.fired_at.desc(), ALERTS.c.alert_id).limit(min(limit, MAX_ALERTS_LISTED))
    return [_alert(r) for r in conn.execute(query)]


def fired_alert_ids(conn: Connection, since: datetime) -> dict[str, set[str]]:
    """Per workspace, the ids of every real alert of periods that started at or after ``since``
    (the earliest start of any cap's current period): what must not fire again."""
    found: dict[str, set[str]] = {}
    query = select(ALERTS.c.workspace, ALERTS.c.alert_id).where(
        ALERTS.c.test.is_(False), ALERTS.c.period_start >= utc(since)
    )
    for workspace, alert_id in conn.execute(query):
        found.setdefault(workspace, set()).add(alert_id)
    return found
