"""Storage: migrations, config, keys and the cluster DDL staying in step with the schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmobserve.storage import SPAN_COLUMNS, InvalidTenantError, StorageConfigError, Store, StoreConfig
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


def test_keys_are_stored_hashed_and_resolve_to_their_tenant(store) -> None:  # type: ignore[no-untyped-def]
    key, key_id = store.create_key("hash-co", ("read",))
    stored = store.client.query(
        "SELECT key_hash FROM api_keys WHERE key_id = {k:String}", parameters={"k": key_id}
    ).result_rows
    assert stored and key not in stored[0][0] and len(stored[0][0]) == 64
    principal = store.lookup_key(key)
    assert principal is not None and principal.tenant == "hash-co" and principal.scopes == {"read"}
    assert not principal.allows("ingest")
    assert store.lookup_key(key[:-1] + ("x" if key[-1] != "x" else "y")) is None


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "-leading-dash", "semi;colon"])
def test_bad_tenant_names_are_refused(store, name: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidTenantError):
        store.create_key(name)


def test_bad_scopes_are_refused(store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="scopes"):
        store.create_key("scopes-co", ("superuser",))


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
