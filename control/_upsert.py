"""``INSERT ... ON CONFLICT`` in the dialect of the connection (SQLite and PostgreSQL both have it):
what makes an insert race end in one row and no error."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_new", "upsert"]


def _dialect(conn: Connection) -> ModuleType:
    return postgresql if conn.dialect.name == "postgresql" else sqlite


def insert_new(conn: Connection, table: Table, rows: list[dict[str, Any]], returning: str | None = None) -> list[Any]:
    """Insert the rows whose key is not taken; with ``returning``, that column of the rows inserted."""
    if not rows:
        return []
    statement = _dialect(conn).insert(table).on_conflict_do_nothing()
    # executemany: one compiled statement whatever the row count (SQLAlchemy batches it into
    # multi-row INSERTs itself, "insertmanyvalues"), so the statement cache holds one entry.
    if returning is None:
        conn.execute(statement, rows)
        return []
    return [value for (value,) in conn.execute(statement.returning(table.c[returning]), rows)]


def upsert(
    conn: Connection,
    table: Table,
    values: dict[str, Any],
    key: Sequence[str],
    only_if: ColumnElement[bool] | None = None,
) -> None:
    """Insert ``values``, or replace the row whose ``key`` columns (its primary key or a unique index)
    hold the same; ``only_if``: a condition the existing row must meet to be replaced."""
    statement = _dialect(conn).insert(table).values(values)
    changed = {name: statement.excluded[name] for name in values if name not in key}
    conn.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changed, where=only_if))
