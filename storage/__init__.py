"""ClickHouse storage shared by the receiver, the query API and billing (never by the SDK).

Embedded chDB under ``LLMOBSERVE_DATA_DIR`` by default; a ClickHouse server when
``LLMOBSERVE_CLICKHOUSE_URL`` is set. Same SQL either way.
"""

from __future__ import annotations

from ._attribution import Attribution, inherit_labels, price_innermost
from ._cap_spend import CAP_DIMENSIONS, written_spend, written_tenants
from ._client import StoreConfig, is_locked
from ._costs import GROUP_BY_EXPRESSIONS, REST_KEY, UNKNOWN, UNTRACKED, BreakdownRow, UnpricedModel
from ._duplicates import DUPLICATE_OF, mark_duplicates
from ._exceptions import StorageConfigError, StorageError, StorageLockedError
from ._export import EXPORT_SPAN_COLUMNS
from ._legacy import LEGACY_TABLES
from ._maintainer import Maintainer
from ._migrations import MIGRATIONS
from ._spans import SPAN_COLUMNS, SPAN_SCHEMA, SpanRow, select_span_rows, spans_table
from ._store import Store
from ._traces import RunRow, TraceSpan

__all__ = [
    "Attribution",
    "BreakdownRow",
    "CAP_DIMENSIONS",
    "DUPLICATE_OF",
    "EXPORT_SPAN_COLUMNS",
    "GROUP_BY_EXPRESSIONS",
    "LEGACY_TABLES",
    "MIGRATIONS",
    "Maintainer",
    "REST_KEY",
    "RunRow",
    "SPAN_COLUMNS",
    "SPAN_SCHEMA",
    "SpanRow",
    "StorageConfigError",
    "StorageError",
    "StorageLockedError",
    "Store",
    "StoreConfig",
    "TraceSpan",
    "UNKNOWN",
    "UNTRACKED",
    "UnpricedModel",
    "inherit_labels",
    "is_locked",
    "mark_duplicates",
    "price_innermost",
    "select_span_rows",
    "spans_table",
    "written_spend",
    "written_tenants",
]
