"""Upgrading a store written by an earlier version (its own file: chDB opens one data path per process)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from llmobserve.storage import Store, StoreConfig, spans_table
from llmobserve.storage._client import connect
from llmobserve.storage._migrations import MIGRATIONS, applied_versions
from tests.span_rows import T0, span


def test_a_store_from_before_sessions_is_upgraded_in_place(tmp_path: Path) -> None:
    """Migration 5 on a store written by the previous version: spans and runs gain their session columns,
    the daily rollup is rebuilt with session in its key, and every bucket is redone from the spans."""
    config = StoreConfig(tmp_path / "data")
    client = connect(config)
    applied_versions(client)
    for version, name, statements in MIGRATIONS[:4]:
        for statement in statements:
            client.command(statement)
        client.insert("schema_migrations", [[version, name]], column_names=["version", "name"])
    client.command("ALTER TABLE spans DROP COLUMN session")
    client.command("ALTER TABLE runs DROP COLUMN sessions")
    client.command(
        "CREATE TABLE cost_daily (tenant String, start_time DateTime('UTC')) ENGINE = MergeTree ORDER BY tenant"
    )
    client.insert_arrow("spans", spans_table([span("t1", "s1", T0, "0.25", customer="c1")]).drop_columns(["session"]))
    client.command(
        "INSERT INTO rollup_state VALUES ('acme', 'day', {d:DateTime('UTC')}, 1, 1, 1)", parameters={"d": T0}
    )
    client.close()

    upgraded = Store.open(config)
    try:
        assert applied_versions(upgraded.client) == {v for v, _, _ in MIGRATIONS}
        tables = {r[0] for r in upgraded.client.query("SHOW TABLES").result_rows}
        assert "cost_daily2" in tables and "cost_daily" not in tables
        assert upgraded.client.query("SELECT session FROM spans").result_rows == [("",)]
        day = (T0, T0 + timedelta(days=1))
        assert [(r.key, r.cost_usd) for r in upgraded.cost_breakdown("acme", "session", *day)] == [
            ("untracked", Decimal("0.25"))
        ]
        upgraded.maintainer().run_once(force=True)
        assert [
            (r.key, r.cost_usd) for r in upgraded.cost_breakdown("acme", "customer", *day, {"session": "untracked"})
        ] == [("c1", Decimal("0.25"))]
    finally:
        upgraded.close()
