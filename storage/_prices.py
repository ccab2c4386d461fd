"""Tenant custom prices. A rule's id is derived from what it matches and when it starts, so
PUTting the same rule again replaces it instead of adding a second one."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from clickhouse_connect.driver.client import Client

__all__ = ["StoredPrice", "price_id", "put_price", "list_prices", "delete_price"]

_COLUMNS = [
    "tenant",
    "price_id",
    "provider",
    "model",
    "is_regex",
    "effective_from",
    "input_per_mtok",
    "output_per_mtok",
    "cache_read_per_mtok",
    "cache_write_per_mtok",
    "reasoning_per_mtok",
    "source",
    "updated_at",
    "deleted",
    "version",
]


@dataclass(frozen=True, slots=True)
class StoredPrice:
    price_id: str
    provider: str
    model: str
    is_regex: bool
    effective_from: datetime
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cache_read_per_mtok: Decimal | None
    cache_write_per_mtok: Decimal | None
    reasoning_per_mtok: Decimal | None
    source: str
    updated_at: datetime


def price_id(provider: str, model: str, is_regex: bool, effective_from: datetime) -> str:
    key = f"{provider}\x00{model}\x00{int(is_regex)}\x00{effective_from.astimezone(UTC).isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def put_price(client: Client, tenant: str, price: StoredPrice) -> None:
    now = datetime.now(UTC)
    row = [
        tenant,
        price.price_id,
        price.provider,
        price.model,
        price.is_regex,
        price.effective_from,
        price.input_per_mtok,
        price.output_per_mtok,
        price.cache_read_per_mtok,
        price.cache_write_per_mtok,
        price.reasoning_per_mtok,
        price.source,
        now,
        False,
        time.time_ns(),
    ]
    client.insert("custom_prices", [row], column_names=_COLUMNS)


def list_prices(client: Client, tenant: str) -> list[StoredPrice]:
    rows = client.query(
        "SELECT price_id, provider, model, is_regex, effective_from, input_per_mtok, output_per_mtok, "
        "cache_read_per_mtok, cache_write_per_mtok, reasoning_per_mtok, source, updated_at "
        "FROM custom_prices FINAL WHERE tenant = {t:String} AND NOT deleted ORDER BY provider, model, effective_from",
        parameters={"t": tenant},
    ).result_rows
    return [StoredPrice(*row) for row in rows]


def delete_price(client: Client, tenant: str, pid: str) -> bool:
    found = [p for p in list_prices(client, tenant) if p.price_id == pid]
    if not found:
        return False
    p = found[0]
    row = [
        tenant,
        pid,
        p.provider,
        p.model,
        p.is_regex,
        p.effective_from,
        p.input_per_mtok,
        p.output_per_mtok,
        p.cache_read_per_mtok,
        p.cache_write_per_mtok,
        p.reasoning_per_mtok,
        p.source,
        datetime.now(UTC),
        True,
        time.time_ns(),
    ]
    client.insert("custom_prices", [row], column_names=_COLUMNS)
    return True
