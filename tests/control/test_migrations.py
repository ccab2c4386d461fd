"""The migrations build exactly the tables the code declares, ``HEAD`` names the newest one, and
processes starting at once migrate a new store once."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import llmobserve.control as control_package
from llmobserve.control import HEAD, ControlStore
from llmobserve.control._engine import open_engine
from llmobserve.control._migrate import current_revision, migrate
from llmobserve.control._schema import METADATA

MIGRATIONS = Path(control_package.__file__).parent / "migrations"


def test_head_is_the_newest_migration() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD]


def test_the_migrations_build_what_the_code_declares(control_url: str) -> None:
    engine = open_engine(control_url)
    assert migrate(engine) and not migrate(engine)  # the second start finds it at head
    with engine.connect() as conn:
        assert current_revision(conn) == HEAD
        differences = compare_metadata(MigrationContext.configure(conn), METADATA)
    engine.dispose()
    assert differences == []


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
