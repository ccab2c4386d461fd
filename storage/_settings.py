"""Per-tenant settings: one JSON value per (tenant, name), newest version wins.

Ingest reads them per request, so reads are cached for ``ttl`` seconds in this process (and
dropped at once when this process writes one); other processes see a change within ``ttl``.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from cachetools import TTLCache
from clickhouse_connect.driver.client import Client

__all__ = ["ATTRIBUTION", "DETECT_DUPLICATES", "TenantSettings"]

ATTRIBUTION = {"customer": "attribution.customer", "session": "attribution.session"}
"""The attribution lists a tenant may set: API name -> setting name."""
DETECT_DUPLICATES = "duplicates.detect"
"""Whether one call reported in two traces is charged once (the default) or as reported."""
_MAX_CACHED = 10_000


class TenantSettings:
    def __init__(self, client: Client, ttl: float = 5.0) -> None:
        self._client = client
        self._cache: TTLCache[tuple[str, str], Any] = TTLCache(_MAX_CACHED, ttl, timer=time.monotonic)
        self._lock = threading.Lock()  # a TTLCache is not thread-safe

    def get(self, tenant: str, name: str) -> Any:
        """The setting's value, or None when the tenant has none (or reset it)."""
        with self._lock:
            if (tenant, name) in self._cache:
                return self._cache[(tenant, name)]
        rows = self._client.query(
            "SELECT value FROM tenant_settings FINAL WHERE tenant = {t:String} AND name = {n:String}",
            parameters={"t": tenant, "n": name},
        ).result_rows
        value = json.loads(rows[0][0]) if rows and rows[0][0] else None
        with self._lock:
            self._cache[(tenant, name)] = value
        return value

    def put(self, tenant: str, name: str, value: Any) -> None:
        """Store ``value`` (None resets the setting to its default)."""
        self._client.insert(
            "tenant_settings",
            [[tenant, name, "" if value is None else json.dumps(value), time.time_ns()]],
            column_names=["tenant", "name", "value", "version"],
        )
        with self._lock:
            self._cache.pop((tenant, name), None)
