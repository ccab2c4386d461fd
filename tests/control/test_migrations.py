"""The migrations build exactly the tables the code declares, ``HEAD`` names the newest one, and
processes starting at once migrate a new store once."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

import llmobserve.control as control_package
from llmobserve.control import HEAD, ControlStore, default_url
from llmobserve.control._engine import open_engine
from llmobserve.control._migrate import SEED, migrate, upgrade_by_migrations
from llmobserve.control._schema import METADATA

MIGRATIONS = Path(control_package.__file__).parent / "migrations"


def test_head_is_the_newest_migration() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD]


def _contents(engine: Engine) -> tuple[list[object], dict[str, list[tuple[object, ...]]]]:
    """What a store holds: its differences from the declared tables, and every table's rows."""
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), METADATA)
        rows = {
            name: sorted(tuple(row) for row in conn.execute(text(f'SELECT * FROM "{name}"')))
            for name in sorted(inspect(conn).get_table_names())
        }
    return differences, rows


def test_the_migrations_build_what_the_code_declares(control_url: str) -> None:
    engine = open_engine(control_url)
    upgrade_by_migrations(engine)  # every migration from an empty store
    assert not migrate(engine)  # the next start finds it at head
    differences, rows = _contents(engine)
    engine.dispose()
    assert differences == [] and rows["alembic_version"] == [(HEAD,)]
    assert rows["counters"] == sorted((r["name"], r["value"]) for r in SEED["counters"])


def test_a_new_store_is_made_at_head_as_the_migrations_make_it(control_url: str, tmp_path: Path) -> None:
    """``migrate`` makes an empty store from the declared tables without replaying the migrations: the
    same tables, constraints, indexes and rows as the migrations build (on SQLite, also the same SQL)."""
    made = open_engine(control_url)
    assert migrate(made) and not migrate(made)
    replayed = open_engine(default_url(tmp_path / "replayed"))
    upgrade_by_migrations(replayed)
    assert _contents(made) == _contents(replayed)
    if made.dialect.name == "sqlite":
        assert _sqlite_schema(made) == _sqlite_schema(replayed)
    made.dispose()
    replayed.dispose()


def _sqlite_schema(engine: Engine) -> dict[str, set[str]]:
    """Each table's columns with their types and nullability, and its indexes' columns."""
    found: dict[str, set[str]] = {}
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            columns = {
                f"{c[1]} {c[2]} {'not null' if c[3] else 'null'} pk{c[5]}"
                for c in conn.execute(text(f'PRAGMA table_info("{name}")'))
            }
            indexes = {
                f"index {i[1]} unique={i[2]}: "
                + ",".join(str(c[2]) for c in conn.execute(text(f'PRAGMA index_info("{i[1]}")')))
                for i in conn.execute(text(f'PRAGMA index_list("{name}")'))
            }
            fks = {
                f"fk {f[3]} -> {f[2]}.{f[4]} on delete {f[6]}"
                for f in conn.execute(text(f'PRAGMA foreign_key_list("{name}")'))
            }
            found[name] = columns | indexes | fks
    return found


def test_processes_starting_at_once_migrate_once(control_url: str) -> None:
    opened: list[ControlStore] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        barrier.wait()
        try:
            opened.append(ControlStore.open(control_url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(opened) == 4
    assert opened[0].revision() == HEAD and opened[0].key_generation() == 0
    for store in opened:
        store.close()
