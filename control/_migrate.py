"""Migrations at start, under a lock, and for operators (``llmobserve db upgrade|current``).

A store already at the head revision costs one query and no Alembic import; otherwise Alembic
upgrades it while holding a lock every starting process takes: an advisory lock on PostgreSQL, an
exclusive lock on a file beside the database on SQLite. The second process then finds the store
at head and goes on.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

__all__ = ["HEAD", "current_revision", "migrate"]

HEAD = "0004"
"""The newest revision under ``migrations/versions`` (tests check the two agree)."""
_LOCK_ID = 0x6C6C6D6F  # "llmo": the advisory lock all llmobserve processes take to migrate
_MIGRATIONS = Path(__file__).parent / "migrations"


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> bool:
    """Bring the store to ``HEAD``; True when it had to (a new or an older store)."""
    with engine.connect() as conn:
        if current_revision(conn) == HEAD:
            return False
    with _locked(engine):
        with engine.connect() as conn:
            if current_revision(conn) == HEAD:  # another process migrated while we waited
                return False
        _upgrade(engine)
    return True


def _upgrade(engine: Engine) -> None:
    from alembic import command  # imported only when there is something to do: ~0.2 s
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@contextmanager
def _locked(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_ID})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_ID})
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    fd = os.open(f"{database}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
