"""ClickHouse storage shared by the receiver, the query API and billing (never by the SDK).

Embedded chDB under ``LLMOBSERVE_DATA_DIR`` by default; a ClickHouse server when
``LLMOBSERVE_CLICKHOUSE_URL`` is set. Same SQL either way.
"""

from __future__ import annotations

from ._alerts import StoredAlert
from ._attribution import Attribution, inherit_labels, price_innermost
from ._auth import Authenticator, bearer_token
from ._cap_spend import CAP_DIMENSIONS, written_spend, written_tenants
from ._caps import MAX_CAPS, StoredCap, new_cap_id, new_webhook_secret
from ._client import StoreConfig, is_locked
from ._costs import GROUP_BY_EXPRESSIONS, REST_KEY, UNKNOWN, UNTRACKED, BreakdownRow, UnpricedModel
from ._duplicates import DUPLICATE_OF, mark_duplicates
from ._exceptions import StorageConfigError, StorageError, StorageLockedError
from ._export import EXPORT_SPAN_COLUMNS
from ._key_checks import KEY_CHECKS, MISS, KeyChecks, LookupsBusy, Miss
from ._keys import DEFAULT_SCOPES, SCOPES, InvalidTenantError, KeyInfo, Principal, validate_tenant
from ._maintainer import Maintainer
from ._migrations import MIGRATIONS
from ._prices import StoredPrice, price_id
from ._recipients import Recipient
from ._spans import SPAN_COLUMNS, SPAN_SCHEMA, SpanRow, select_span_rows, spans_table
from ._store import Store
from ._traces import RunRow, TraceSpan

__all__ = [
    "Attribution",
    "Authenticator",
    "BreakdownRow",
    "CAP_DIMENSIONS",
    "DEFAULT_SCOPES",
    "DUPLICATE_OF",
    "EXPORT_SPAN_COLUMNS",
    "GROUP_BY_EXPRESSIONS",
    "InvalidTenantError",
    "KEY_CHECKS",
    "KeyChecks",
    "KeyInfo",
    "LookupsBusy",
    "MAX_CAPS",
    "MIGRATIONS",
    "MISS",
    "Maintainer",
    "Miss",
    "Principal",
    "REST_KEY",
    "Recipient",
    "RunRow",
    "SCOPES",
    "SPAN_COLUMNS",
    "SPAN_SCHEMA",
    "SpanRow",
    "StorageConfigError",
    "StorageError",
    "StorageLockedError",
    "Store",
    "StoreConfig",
    "StoredAlert",
    "StoredCap",
    "StoredPrice",
    "TraceSpan",
    "UNKNOWN",
    "UNTRACKED",
    "UnpricedModel",
    "bearer_token",
    "inherit_labels",
    "is_locked",
    "mark_duplicates",
    "new_cap_id",
    "new_webhook_secret",
    "price_id",
    "price_innermost",
    "select_span_rows",
    "spans_table",
    "validate_tenant",
    "written_spend",
    "written_tenants",
]
