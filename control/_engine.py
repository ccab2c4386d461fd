"""Engines for the control store: SQLite in the data dir by default, PostgreSQL by URL.

SQLite runs in WAL mode (readers never wait for the writer), with foreign keys on and a busy
timeout, and with pysqlite's own transaction handling turned off so that a transaction that
writes can start with ``BEGIN IMMEDIATE``: it takes the write lock first, so two processes'
read-decide-write transactions run one after the other instead of failing on upgrade
(the recipe in SQLAlchemy's "Serializable isolation / Savepoints / Transactional DDL" notes).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

__all__ = ["ControlConfigError", "default_url", "describe", "is_sqlite", "open_engine"]

_BUSY_TIMEOUT_MS = 30_000
WRITE = {"llmobserve_write": True}
"""Execution options of a transaction that writes: ``BEGIN IMMEDIATE`` on SQLite."""


class ControlConfigError(ValueError):
    """``LLMOBSERVE_DATABASE_URL`` names no database this release can use."""


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{Path(data_dir).resolve() / 'control.db'}"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def describe(url: str) -> str:
    """The URL without its password, for banners and logs."""
    return make_url(url).render_as_string(hide_password=True)


def open_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ControlConfigError(f"LLMOBSERVE_DATABASE_URL {url!r} is not a database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # A few connections suffice (each transaction is short) and each keeps a page cache of its own.
        engine = create_engine(
            parsed,
            connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            pool_size=4,
            max_overflow=4,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() not in ("psycopg", "psycopg2"):
            raise ControlConfigError(
                f"LLMOBSERVE_DATABASE_URL uses driver {parsed.get_driver_name()!r}: "
                "use postgresql+psycopg://user:password@host:5432/db (psycopg 3)"
            )
        return create_engine(parsed, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)
    raise ControlConfigError(
        f"LLMOBSERVE_DATABASE_URL names {backend!r}: the control store runs on SQLite "
        "(sqlite:///path/control.db) or PostgreSQL (postgresql+psycopg://...)"
    )


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun below, not by pysqlite
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    _wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across a process crash; WAL's usual setting
    cursor.close()


def _wal(cursor: Any) -> None:
    """WAL mode, once per file. Switching a new file to it takes an exclusive lock and SQLite answers
    "database is locked" at once, without the busy timeout, when another connection opens the file
    in the same moment (5 of 40 four-way starts here): so retry, for the busy timeout at most."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_begin(connection: Any) -> None:
    write = connection.get_execution_options().get("llmobserve_write")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
