"""``llmobserve db upgrade|current`` and ``llmobserve backup``: the control store for operators."""

from __future__ import annotations

import sys
from pathlib import Path

from llmobserve.control import HEAD, ControlConfigError, ControlStore, is_sqlite
from llmobserve.control._engine import describe, open_engine
from llmobserve.control._migrate import current_revision, migrate

__all__ = ["backup_cli", "db_current_cli", "db_upgrade_cli"]


def db_current_cli(url: str) -> int:
    """Print the store's revision and whether it is the newest this release knows."""
    try:
        engine = open_engine(url)
        with engine.connect() as conn:
            revision = current_revision(conn)
    except (ControlConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the server does not answer, the credentials are wrong, ...
        print(f"error: cannot read the control store at {describe(url)}: {exc}", file=sys.stderr)
        return 1
    state = "up to date" if revision == HEAD else f"behind: run `llmobserve db upgrade` (newest is {HEAD})"
    print(f"{describe(url)}: revision {revision or 'none (empty store)'}, {state}")
    engine.dispose()
    return 0


def db_upgrade_cli(url: str) -> int:
    try:
        engine = open_engine(url)
        changed = migrate(engine)
    except (ControlConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        print(f"error: cannot upgrade the control store at {describe(url)}: {exc}", file=sys.stderr)
        return 1
    engine.dispose()
    print(f"{describe(url)}: {'upgraded to' if changed else 'already at'} revision {HEAD}")
    return 0


def backup_cli(url: str, target: str) -> int:
    if not is_sqlite(url):
        print(
            "error: the control store is on PostgreSQL: back it up with pg_dump, e.g. "
            f"pg_dump --format=custom --file=control.dump '{describe(url)}' (with the password in PGPASSWORD)",
            file=sys.stderr,
        )
        return 2
    destination = Path(target)
    if destination.exists():
        print(f"error: {destination} exists; name a new file", file=sys.stderr)
        return 2
    try:
        store = ControlStore.open(url)
        try:
            store.backup(destination)
        finally:
            store.close()
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote a consistent copy of the control store to {destination} (spans: see docs/operations.md)")
    return 0
