"""Control stores for tests: SQLite in a temp dir, and a real PostgreSQL database of the test's own
(Debian's PostgreSQL 15: started here when it is installed and down; created and dropped per test)."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

__all__ = ["postgres_database", "postgres_reason"]

_ROLE = "llmobserve_test"
_PASSWORD = "llmobserve_test"
_ADMIN = f"host=127.0.0.1 port=5432 user={_ROLE} password={_PASSWORD} dbname=postgres"
_reason: str | None = None
_checked = False


def _as_postgres(sql: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["su", "postgres", "-c", f'psql -v ON_ERROR_STOP=1 -qAtc "{sql}"'], capture_output=True, text=True, timeout=60
    )


def postgres_reason() -> str | None:
    """None when a PostgreSQL server answers on 127.0.0.1:5432 with our test role; else why not."""
    global _checked, _reason
    if _checked:
        return _reason
    _checked = True
    try:
        psycopg.connect(_ADMIN, connect_timeout=3).close()
        return None
    except psycopg.OperationalError:
        pass
    if shutil.which("pg_ctlcluster") and shutil.which("su"):
        subprocess.run(["pg_ctlcluster", "15", "main", "start"], capture_output=True, timeout=60)
        made = _as_postgres(
            f"DO \\$\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{_ROLE}') THEN "
            f"CREATE ROLE {_ROLE} LOGIN CREATEDB PASSWORD '{_PASSWORD}'; END IF; END \\$\\$;"
        )
        if made.returncode != 0:
            _reason = f"PostgreSQL is installed but the test role could not be made: {made.stderr.strip()}"
            return _reason
        try:
            psycopg.connect(_ADMIN, connect_timeout=5).close()
            return None
        except psycopg.OperationalError as exc:
            _reason = f"PostgreSQL did not answer on 127.0.0.1:5432 after starting it: {exc}"
            return _reason
    _reason = "no PostgreSQL server here (Debian: apt-get install postgresql; .ci/run does)"
    return _reason


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database; yields its SQLAlchemy URL and drops it afterwards."""
    name = f"llmo_test_{secrets.token_hex(6)}"
    with psycopg.connect(_ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://{_ROLE}:{_PASSWORD}@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
