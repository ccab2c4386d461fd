"""Migration 8 on a store written before webhook signing: every live cap gets a secret of its own,
a deleted one stays deleted, and running the migration again changes nothing (its own file: chDB
opens one data path per process)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from llmobserve.storage import Store, StoreConfig
from llmobserve.storage._client import connect
from llmobserve.storage._migrations import MIGRATIONS, applied_versions

_OLD_CAP = (
    "INSERT INTO caps (tenant, cap_id, name, scope, value, period, time_zone, limit_usd, thresholds, "
    "enforcement, recipients, webhooks, enabled, created_at, updated_at, deleted, version) VALUES "
    "({t:String}, {id:String}, 'n', 'global', '', 'monthly', 'UTC', 1, ['1'], 'alert_only', [], "
    "['https://hooks.example.com/x'], true, now64(3), now64(3), {deleted:Bool}, {v:UInt64})"
)


def _caps(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    """The live caps as the previous release's table holds them (this release copies them once)."""
    return {(row["tenant"], row["cap_id"]): row for row in store.legacy_rows("caps")}


def test_caps_from_before_signing_get_a_secret_each(tmp_path: Path) -> None:
    config = StoreConfig(tmp_path / "data")
    client = connect(config)
    applied_versions(client)
    for version, name, statements in MIGRATIONS[:7]:
        for statement in statements:
            client.command(statement)
        client.insert("schema_migrations", [[version, name]], column_names=["version", "name"])
    client.command("ALTER TABLE caps DROP COLUMN webhook_secret")  # as version 7 created it
    for tenant, cap_id, deleted, version in [
        ("a", "cap_0000000000000001", False, 1),
        ("a", "cap_0000000000000002", False, 1),
        ("b", "cap_0000000000000001", False, 1),
        ("b", "cap_0000000000000003", False, 1),
        ("b", "cap_0000000000000003", True, 2),
    ]:
        client.command(_OLD_CAP, parameters={"t": tenant, "id": cap_id, "deleted": deleted, "v": version})
    client.close()

    upgraded = Store.open(config)
    try:
        caps = _caps(upgraded)
        assert sorted(caps) == [
            ("a", "cap_0000000000000001"),
            ("a", "cap_0000000000000002"),
            ("b", "cap_0000000000000001"),
        ]
        secrets = [c["webhook_secret"] for c in caps.values()]
        assert all(re.fullmatch(r"whsec_[A-Za-z0-9_\-]{43}", s) for s in secrets), secrets
        assert len(set(secrets)) == 3
        assert all(c["webhooks"] == ["https://hooks.example.com/x"] and c["limit_usd"] == 1 for c in caps.values())
        for _, _, statements in MIGRATIONS:
            for statement in statements:
                upgraded.client.command(statement)
        assert {key: c["webhook_secret"] for key, c in _caps(upgraded).items()} == {
            key: cap["webhook_secret"] for key, cap in caps.items()
        }
        assert upgraded.client.query("SELECT count() FROM caps FINAL WHERE webhook_secret = ''").result_rows == [
            (1,)
        ]  # the tombstone only
    finally:
        upgraded.close()
