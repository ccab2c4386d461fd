"""Migrations at start, under a lock, and for operators (``llmobserve db upgrade|current``).

A store already at the head revision costs one query and no Alembic import; otherwise Alembic
upgrades it while holding a lock every starting process takes: an advisory lock on PostgreSQL, an
exclusive lock on a file beside the database on SQLite. The second process then finds the store
at head and goes on. A new, empty store is made from the declared tables and stamped at head in
one transaction instead (tests keep it equal to what the migrations build): replaying every
migration, SQLite's table copies included, cost each new server about half a second.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Column, Connection, Engine, MetaData, PrimaryKeyConstraint, String, Table, inspect, text

__all__ = ["HEAD", "SEED", "create_at_head", "current_revision", "migrate", "upgrade_by_migrations"]

HEAD = "0004"
"""The newest revision under ``migrations/versions`` (tests check the two agree)."""
_LOCK_ID = 0x6C6C6D6F  # "llmo": the advisory lock all llmobserve processes take to migrate
_MIGRATIONS = Path(__file__).parent / "migrations"
_VERSION = Table(  # Alembic's own, as it makes it
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)
SEED = {"counters": [{"name": "keys", "value": 0}, {"name": "caps", "value": 0}]}
"""The rows migration 0001 inserts."""


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
            revision = current_revision(conn)
            if revision == HEAD:  # another process migrated while we waited
                return False
            empty = revision is None and not inspect(conn).get_table_names()
        if empty:
            create_at_head(engine)
        else:
            upgrade_by_migrations(engine)
    return True


def create_at_head(engine: Engine) -> None:
    """Make every declared table in an empty store, with the rows the migrations seed, stamped ``HEAD``."""
    from ._schema import METADATA

    with engine.begin() as conn:
        METADATA.create_all(conn)
        for name, rows in SEED.items():
            conn.execute(METADATA.tables[name].insert(), rows)
        _VERSION.create(conn)
        conn.execute(_VERSION.insert().values(version_num=HEAD))


def upgrade_by_migrations(engine: Engine) -> None:
    """Alembic's upgrade to head, whatever the store holds (``migrate`` takes a shortcut for an empty one)."""
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
