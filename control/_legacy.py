"""The previous release's rows (as ``storage.legacy_rows`` reads them from ClickHouse) written into
the control tables: same ids, same values, so every API answer is the same after the upgrade."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert

from . import _caps, _prices, _recipients
from ._convert import ms, utc, utc_or_none
from ._records import Recipient, StoredAlert, StoredCap, StoredPrice
from ._schema import API_KEYS, CAPS, WORKSPACES
from ._upsert import insert_new

__all__ = ["COPIERS"]


def _workspaces(conn: Connection, rows: list[dict[str, Any]]) -> int:
    fresh = [{"id": r["tenant"], "created_at": utc(r["created_at"])} for r in rows]
    return len(insert_new(conn, WORKSPACES, fresh, returning="id"))


def _ensure(conn: Connection, tenants: set[str]) -> None:
    """Workspaces named by rows of other tables (the old store did not enforce them)."""
    _workspaces(conn, [{"tenant": t, "created_at": datetime.now(UTC)} for t in sorted(tenants)])


def _keys(conn: Connection, rows: list[dict[str, Any]]) -> int:
    _ensure(conn, {r["tenant"] for r in rows})
    fresh = [
        {
            "key_id": r["key_id"],
            "workspace": r["tenant"],
            "key_hash": r["key_hash"],
            "scopes": sorted(r["scopes"]),
            "name": r["name"],
            "created_at": utc(r["created_at"]),
            "revoked_at": datetime.now(UTC) if r["revoked"] else None,
        }
        for r in rows
    ]
    return len(insert_new(conn, API_KEYS, fresh, returning="key_id"))


def _caps_rows(conn: Connection, rows: list[dict[str, Any]]) -> int:
    _ensure(conn, {r["tenant"] for r in rows})
    for r in rows:
        cap = StoredCap(
            r["cap_id"],
            r["name"],
            r["scope"],
            r["value"],
            r["period"],
            r["time_zone"],
            Decimal(r["limit_usd"]),
            tuple(Decimal(t) for t in r["thresholds"]),
            r["enforcement"],
            tuple(r["recipients"]),
            tuple(r["webhooks"]),
            bool(r["enabled"]),
            ms(r["created_at"]),
            ms(r["updated_at"]),
            r["webhook_secret"],
        )
        conn.execute(insert(CAPS).values(_caps.cap_values(r["tenant"], cap)))
    return len(rows)


def _alerts(conn: Connection, rows: list[dict[str, Any]]) -> int:
    _ensure(conn, {r["tenant"] for r in rows})
    for r in rows:
        alert = StoredAlert(
            r["alert_id"],
            r["cap_id"],
            r["cap_name"],
            r["scope"],
            r["subject"],
            Decimal(r["threshold"]),
            Decimal(r["spend_usd"]),
            Decimal(r["limit_usd"]),
            r["period"],
            utc(r["period_start"]),
            utc_or_none(r["resets_at"]),
            utc(r["fired_at"]),
            bool(r["test"]),
            bool(r["delivered"]),
            tuple(json.loads(r["deliveries"] or "[]")),
        )
        _caps.claim_alerts(conn, r["tenant"], [alert])
    return len(rows)


def _custom_prices(conn: Connection, rows: list[dict[str, Any]]) -> int:
    _ensure(conn, {r["tenant"] for r in rows})
    for r in rows:
        price = StoredPrice(
            r["price_id"],
            r["provider"],
            r["model"],
            bool(r["is_regex"]),
            utc(r["effective_from"]),
            r["input_per_mtok"],
            r["output_per_mtok"],
            r["cache_read_per_mtok"],
            r["cache_write_per_mtok"],
            r["reasoning_per_mtok"],
            r["source"],
            utc(r["updated_at"]),
        )
        _prices.put_price(conn, r["tenant"], price, keep_updated_at=True)
    return len(rows)


def _settings(conn: Connection, rows: list[dict[str, Any]]) -> int:
    _ensure(conn, {r["tenant"] for r in rows})
    for r in rows:
        _prices.put_setting(conn, r["tenant"], r["name"], json.loads(r["value"]))
    return len(rows)


def _recipients_rows(conn: Connection, rows: list[dict[str, Any]]) -> int:
    _ensure(conn, {r["tenant"] for r in rows})
    for r in rows:
        recipient = Recipient(
            r["tenant"],
            r["address"],
            r["token_hash"],
            utc_or_none(r["requested_at"]),
            utc_or_none(r["confirmed_at"]),
            tuple(utc(s) for s in r["sends"]),
        )
        _recipients.put_recipient(conn, recipient)
    return len(rows)


COPIERS: dict[str, Callable[[Connection, list[dict[str, Any]]], int]] = {
    "tenants": _workspaces,
    "api_keys": _keys,
    "caps": _caps_rows,
    "alerts": _alerts,
    "custom_prices": _custom_prices,
    "tenant_settings": _settings,
    "recipients": _recipients_rows,
}
"""Old ClickHouse table -> how its rows are written here."""
