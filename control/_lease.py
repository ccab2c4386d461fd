"""Leases: a job only one process may do (the cap monitor) is done by whoever holds its row until
``expires_at``. A holder renews well before expiry; when it dies, another takes the row once it
expired. The read and the write are one transaction (``BEGIN IMMEDIATE`` on SQLite, a row lock on
PostgreSQL), so two processes never both take it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select, update

from ._convert import utc
from ._schema import LEASES
from ._upsert import insert_new

__all__ = ["release_lease", "take_lease"]

_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def take_lease(conn: Connection, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew ``name`` for ``holder`` until now + ttl; False while another holds it."""
    now = utc(now)
    # The row exists before anyone locks it, so racing first takers all wait on one row lock.
    insert_new(conn, LEASES, [{"name": name, "holder": "", "expires_at": _NEVER}])
    row = conn.execute(select(LEASES).where(LEASES.c.name == name).with_for_update()).one()
    if row.holder not in ("", holder) and utc(row.expires_at) > now:
        return False
    conn.execute(update(LEASES).where(LEASES.c.name == name).values(holder=holder, expires_at=now + ttl))
    return True


def release_lease(conn: Connection, name: str, holder: str) -> None:
    """Let another process take it at once (a clean stop); a no-op when ``holder`` no longer holds it."""
    conn.execute(update(LEASES).where(LEASES.c.name == name, LEASES.c.holder == holder).values(expires_at=_NEVER))
