"""The previous release's control tables in ClickHouse, read once to copy them into the control
store (``llmobserve.control``). They are left as they are for one release, then dropped."""

from __future__ import annotations

from typing import Any

from clickhouse_connect.driver.client import Client

__all__ = ["LEGACY_TABLES", "legacy_rows"]

# The newest version of each row, without tombstones: what the previous release answered with.
_QUERIES = {
    "tenants": "SELECT tenant, min(created_at) AS created_at FROM tenants GROUP BY tenant",
    "api_keys": "SELECT * FROM api_keys FINAL",
    "caps": "SELECT * FROM caps FINAL WHERE NOT deleted",
    "alerts": "SELECT * FROM alerts FINAL",
    "custom_prices": "SELECT * FROM custom_prices FINAL WHERE NOT deleted",
    "tenant_settings": "SELECT * FROM tenant_settings FINAL WHERE value != ''",
    "recipients": "SELECT * FROM recipients FINAL",
}
LEGACY_TABLES = tuple(_QUERIES)
"""In the order they copy: workspaces before what belongs to them."""


def legacy_rows(client: Client, table: str) -> list[dict[str, Any]]:
    return list(client.query(_QUERIES[table]).named_results())
