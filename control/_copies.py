"""Copying the previous release's records in, once: each table is copied in one transaction that
also records it as copied, so a copy killed halfway left nothing and the next start does it again,
and a finished one is never repeated."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from ._schema import UPGRADE_COPIES

__all__ = ["copied", "copy_once"]


def copied(conn: Connection) -> set[str]:
    return {name for (name,) in conn.execute(select(UPGRADE_COPIES.c.name))}


def copy_once(conn: Connection, name: str, work: Callable[[Connection], int]) -> int | None:
    """Run ``work`` (which writes and returns its row count) unless ``name`` was copied; None then."""
    if conn.execute(select(UPGRADE_COPIES.c.name).where(UPGRADE_COPIES.c.name == name)).first():
        return None
    rows = work(conn)
    conn.execute(insert(UPGRADE_COPIES).values(name=name, rows=rows, copied_at=datetime.now(UTC)))
    return rows
