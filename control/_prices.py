"""Workspace custom prices and settings (one JSON value per (workspace, name))."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from ._convert import dec, dec_or_none, text, text_or_none, utc
from ._records import StoredPrice
from ._schema import CUSTOM_PRICES, SETTINGS
from ._upsert import upsert

__all__ = ["delete_price", "get_setting", "list_prices", "put_price", "put_setting"]


def put_price(conn: Connection, workspace: str, price: StoredPrice, keep_updated_at: bool = False) -> None:
    """``keep_updated_at``: a copied price keeps the time it was last changed."""
    values = {
        "workspace": workspace,
        "price_id": price.price_id,
        "provider": price.provider,
        "model": price.model,
        "is_regex": price.is_regex,
        "effective_from": utc(price.effective_from),
        "input_per_mtok": text(price.input_per_mtok),
        "output_per_mtok": text(price.output_per_mtok),
        "cache_read_per_mtok": text_or_none(price.cache_read_per_mtok),
        "cache_write_per_mtok": text_or_none(price.cache_write_per_mtok),
        "reasoning_per_mtok": text_or_none(price.reasoning_per_mtok),
        "source": price.source,
        "updated_at": utc(price.updated_at) if keep_updated_at else datetime.now(UTC),
    }
    upsert(conn, CUSTOM_PRICES, values, ["workspace", "price_id"])


def _price(row: Any) -> StoredPrice:
    return StoredPrice(
        row.price_id,
        row.provider,
        row.model,
        bool(row.is_regex),
        utc(row.effective_from),
        dec(row.input_per_mtok),
        dec(row.output_per_mtok),
        dec_or_none(row.cache_read_per_mtok),
        dec_or_none(row.cache_write_per_mtok),
        dec_or_none(row.reasoning_per_mtok),
        row.source,
        utc(row.updated_at),
    )


def list_prices(conn: Connection, workspace: str) -> list[StoredPrice]:
    query = (
        select(CUSTOM_PRICES)
        .where(CUSTOM_PRICES.c.workspace == workspace)
        .order_by(CUSTOM_PRICES.c.provider, CUSTOM_PRICES.c.model, CUSTOM_PRICES.c.effective_from)
    )
    return [_price(r) for r in conn.execute(query)]


def delete_price(conn: Connection, workspace: str, price_id: str) -> bool:
    where = (CUSTOM_PRICES.c.workspace == workspace, CUSTOM_PRICES.c.price_id == price_id)
    return bool(conn.execute(delete(CUSTOM_PRICES).where(*where)).rowcount)


def get_setting(conn: Connection, workspace: str, name: str) -> Any:
    """The setting's value, or None when the workspace has none (or reset it)."""
    return conn.execute(
        select(SETTINGS.c.value).where(SETTINGS.c.workspace == workspace, SETTINGS.c.name == name)
    ).scalar()


def put_setting(conn: Connection, workspace: str, name: str, value: Any) -> None:
    """Store ``value``; None resets the setting to its default."""
    if value is None:
        conn.execute(delete(SETTINGS).where(SETTINGS.c.workspace == workspace, SETTINGS.c.name == name))
    else:
        upsert(conn, SETTINGS, {"workspace": workspace, "name": name, "value": value}, ["workspace", "name"])
