"""``INSERT ... ON CONFLICT DO NOTHING`` in the dialect of the connection (SQLite and PostgreSQL
both have it): what makes an insert race end in one row and no error."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_new"]


def insert_new(conn: Connection, table: Table, rows: list[dict[str, Any]], returning: str | None = None) -> list[Any]:
    """Insert the rows whose key is not taken; with ``returning``, that column of the rows inserted."""
    if not rows:
        return []
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing()
    # executemany: one compiled statement whatever the row count (SQLAlchemy batches it into
    # multi-row INSERTs itself, "insertmanyvalues"), so the statement cache holds one entry.
    if returning is None:
        conn.execute(statement, rows)
        return []
    return [value for (value,) in conn.execute(statement.returning(table.c[returning]), rows)]
