"""Storage: migrations, config, keys and the cluster DDL staying in step with the schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmobserve.storage import SPAN_COLUMNS, StorageConfigError, Store, StoreConfig
from llmobserve.storage._client import connect
from llmobserve.storage._migrations import MIGRATIONS, applied_versions, migrate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def store(tmp_path_factory):  # type: ignore[no-untyped-def]
    opened = Store.open(StoreConfig(tmp_path_factory.mktemp("storage") / "data"))
    yield opened
    opened.close()


def test_migrations_are_recorded_and_idempotent(store) -> None:  # type: ignore[no-untyped-def]
    assert applied_versions(store.client) == {v for v, _, _ in MIGRATIONS}
    assert migrate(store.client) == []
    for _, _, statements in MIGRATIONS:  # every statement is safe to run again
        for statement in statements:
            store.client.command(statement)


def test_spans_table_has_the_arrow_columns_in_order(store) -> None:  # type: ignore[no-untyped-def]
    names = [row[0] for row in store.client.query("DESCRIBE TABLE spans").result_rows]
    assert tuple(names) == SPAN_COLUMNS
    sorting = store.client.query("SELECT sorting_key FROM system.tables WHERE name = 'spans'").result_rows[0][0]
    assert sorting.startswith("tenant")


def test_every_sort_key_starts_with_tenant(store) -> None:  # type: ignore[no-untyped-def]
    rows = store.client.query(
        "SELECT name, sorting_key FROM system.tables WHERE database = currentDatabase() AND name != 'schema_migrations' AND engine != 'MaterializedView'"
    ).result_rows
    assert {name for name, _ in rows} >= {"spans", "tenants", "api_keys"}
    assert all(key.startswith("tenant") for _, key in rows), rows


def test_config_describe_hides_the_password() -> None:
    config = StoreConfig(Path("/unused"), url="http://u:p@ch:8123/db")
    assert not config.embedded and "ch:8123/db" in config.describe() and "p@" not in config.describe()


@pytest.mark.parametrize("url", ["ftp://ch:21/db", "clickhouse", "http:///nohost"])
def test_bad_clickhouse_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(StorageConfigError, match="user:pass@host"):
        connect(StoreConfig(data_dir=Path("/nonexistent"), url=url))


def _tables(sql: str) -> dict[str, list[str]]:
    """table name (without _local) -> its column names, from CREATE TABLE statements with a column list."""
    found = {}
    for name, body in re.findall(
        r"CREATE TABLE IF NOT EXISTS (?:llmobserve\.)?(\w+)(?: ON CLUSTER \w+)? \(\n(.*?)\n\)", sql, re.S
    ):
        found[name.removesuffix("_local")] = re.findall(r"^\s{4}([a-z_0-9]+) ", body, re.M)
    return found


def test_cluster_ddl_matches_the_schema(store) -> None:  # type: ignore[no-untyped-def]
    cluster = _tables((ROOT / "deploy" / "clickhouse" / "cluster.sql").read_text())
    single = {}
    for _, _, statements in MIGRATIONS:
        for statement in statements:
            single.update(_tables(statement))
    assert single["spans"] == list(SPAN_COLUMNS)
    assert cluster == single
    described = {name: [r[0] for r in store.client.query(f"DESCRIBE TABLE {name}").result_rows] for name in single}
    assert described == single
