"""Versioned, idempotent schema migrations, applied at start.

Each migration is a list of statements that are safe to run twice (IF NOT EXISTS), so a crash
between a statement and the bookkeeping row only means the statement runs again.
The cluster variant (Replicated*MergeTree + Distributed) lives in deploy/clickhouse/.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from ._rollup_schema import MARK_EXISTING, ROLLUP_STATEMENTS, SESSION_ROLLUPS

__all__ = ["MIGRATIONS", "migrate", "applied_versions"]

_SPANS = """
CREATE TABLE IF NOT EXISTS spans (
    tenant LowCardinality(String),
    trace_id String CODEC(ZSTD(1)),
    span_id String CODEC(ZSTD(1)),
    parent_span_id String CODEC(ZSTD(1)),
    name LowCardinality(String),
    kind LowCardinality(String),
    service LowCardinality(String),
    scope LowCardinality(String),
    start_time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    end_time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    duration_ns UInt64,
    status_code LowCardinality(String),
    status_message String,
    operation LowCardinality(String),
    provider LowCardinality(String),
    request_model LowCardinality(String),
    response_model LowCardinality(String),
    model LowCardinality(String),
    agent LowCardinality(String),
    section_path String,
    customer String,
    session String,
    tool LowCardinality(String),
    is_llm Bool,
    input_tokens UInt64,
    output_tokens UInt64,
    cache_read_tokens UInt64,
    cache_write_tokens UInt64,
    reasoning_tokens UInt64,
    cost_usd Decimal(18, 12),
    cost_input_usd Decimal(18, 12),
    cost_output_usd Decimal(18, 12),
    cost_cache_read_usd Decimal(18, 12),
    cost_cache_write_usd Decimal(18, 12),
    price_source LowCardinality(String),
    priced Bool,
    billable Bool,
    is_batch Bool,
    http_status UInt16,
    error_type LowCardinality(String),
    span_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    events String CODEC(ZSTD(1)),
    links String CODEC(ZSTD(1)),
    ingest_time DateTime64(3, 'UTC'),
    version UInt64,
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant, toStartOfHour(start_time), trace_id, span_id)
"""
# (tenant, hour, trace, span) is the identity: a re-delivered span has the same start time, so it
# lands on the same key and ReplacingMergeTree keeps one; reads use FINAL until rollups exist.

_TENANTS = """
CREATE TABLE IF NOT EXISTS tenants (
    tenant String,
    created_at DateTime64(3, 'UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY tenant
"""

_API_KEYS = """
CREATE TABLE IF NOT EXISTS api_keys (
    tenant String,
    key_id String,
    key_hash String,
    scopes Array(LowCardinality(String)),
    name String,
    created_at DateTime64(3, 'UTC'),
    revoked Bool,
    version UInt64,
    INDEX idx_key_hash key_hash TYPE bloom_filter GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, key_id)
"""

_CUSTOM_PRICES = """
CREATE TABLE IF NOT EXISTS custom_prices (
    tenant String,
    price_id String,
    provider LowCardinality(String),
    model String,
    is_regex Bool,
    effective_from DateTime64(3, 'UTC'),
    input_per_mtok Decimal(38, 12),
    output_per_mtok Decimal(38, 12),
    cache_read_per_mtok Nullable(Decimal(38, 12)),
    cache_write_per_mtok Nullable(Decimal(38, 12)),
    reasoning_per_mtok Nullable(Decimal(38, 12)),
    source String,
    updated_at DateTime64(3, 'UTC'),
    deleted Bool,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, price_id)
"""

_TENANT_SETTINGS = """
CREATE TABLE IF NOT EXISTS tenant_settings (
    tenant String,
    name LowCardinality(String),
    value String,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, name)
"""

_CAPS = """
CREATE TABLE IF NOT EXISTS caps (
    tenant String,
    cap_id String,
    name String,
    scope LowCardinality(String),
    value String,
    period LowCardinality(String),
    time_zone String,
    limit_usd Decimal(38, 12),
    thresholds Array(String),
    enforcement LowCardinality(String),
    recipients Array(String),
    webhooks Array(String),
    webhook_secret String,
    enabled Bool,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    deleted Bool,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, cap_id)
"""

_ALERTS = """
CREATE TABLE IF NOT EXISTS alerts (
    tenant String,
    alert_id String,
    cap_id String,
    cap_name String,
    scope LowCardinality(String),
    subject String,
    threshold Decimal(38, 12),
    spend_usd Decimal(38, 12),
    limit_usd Decimal(38, 12),
    period LowCardinality(String),
    period_start DateTime64(3, 'UTC'),
    resets_at Nullable(DateTime64(3, 'UTC')),
    fired_at DateTime64(3, 'UTC'),
    test Bool,
    delivered Bool,
    deliveries String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, alert_id)
"""

_RECIPIENTS = """
CREATE TABLE IF NOT EXISTS recipients (
    tenant String,
    address String,
    token_hash String,
    requested_at Nullable(DateTime64(3, 'UTC')),
    confirmed_at Nullable(DateTime64(3, 'UTC')),
    sends Array(DateTime64(3, 'UTC')),
    version UInt64,
    INDEX idx_token_hash token_hash TYPE bloom_filter GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, address)
"""

_CAP_COLUMNS = (
    "tenant, cap_id, name, scope, value, period, time_zone, limit_usd, thresholds, enforcement, recipients, "
    "webhooks, {secret}, enabled, created_at, updated_at, deleted, {version}"
)
_NEW_SECRET = "concat('whsec_', replaceAll(translate(base64Encode(randomString(32)), '+/', '-_'), '=', ''))"
# Caps saved before signing existed get a secret of their own, as a newer version of their row
# (never the same for two caps). Run again, it finds none left without one.
_CAP_SECRETS = (
    "INSERT INTO caps ("
    + _CAP_COLUMNS.format(secret="webhook_secret", version="version")
    + ") SELECT "
    + _CAP_COLUMNS.format(secret=_NEW_SECRET, version="version + 1")
    + " FROM caps FINAL WHERE webhook_secret = '' AND NOT deleted"
)

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "spans, tenants, api_keys", [_SPANS, _TENANTS, _API_KEYS]),
    (2, "tenant custom prices", [_CUSTOM_PRICES]),
    (3, "trace index, cost rollups, runs", ROLLUP_STATEMENTS),
    (4, "tenant settings", [_TENANT_SETTINGS]),
    # Spans stored before keep an empty session; every bucket is marked so rollups and runs are redone.
    (
        5,
        "session dimension",
        [
            "ALTER TABLE spans ADD COLUMN IF NOT EXISTS session String AFTER customer",
            "ALTER TABLE runs ADD COLUMN IF NOT EXISTS sessions Array(String) AFTER customers",
            *SESSION_ROLLUPS,
            MARK_EXISTING.format(where=""),
        ],
    ),
    (6, "spending caps", [_CAPS]),
    (7, "alert history", [_ALERTS]),
    (
        8,
        "webhook signing secrets, e-mail recipients' confirmations",
        ["ALTER TABLE caps ADD COLUMN IF NOT EXISTS webhook_secret String AFTER webhooks", _CAP_SECRETS, _RECIPIENTS],
    ),
]

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY version
"""


def applied_versions(client: Client) -> set[int]:
    client.command(_BOOKKEEPING)
    return {row[0] for row in client.query("SELECT version FROM schema_migrations FINAL").result_rows}


def migrate(client: Client) -> list[int]:
    """Apply every migration not yet recorded; returns the versions applied now."""
    done = applied_versions(client)
    applied = []
    fresh = not done  # a new data dir: every version recorded in one insert at the end (below)
    for version, name, statements in MIGRATIONS:
        if version in done:
            continue
        for statement in statements:
            client.command(statement)
        if not fresh:
            client.insert("schema_migrations", [[version, name]], column_names=["version", "name"])
        applied.append(version)
    if fresh:
        # Each insert is a part of its own (~40 ms each in chDB, 8 of them at every new data dir).
        # Interrupted before this, the next start applies them all again: every statement is
        # idempotent (IF NOT EXISTS; the data fixes find nothing left to fix).
        rows = [[version, name] for version, name, _ in MIGRATIONS]
        client.insert("schema_migrations", rows, column_names=["version", "name"])
    return applied
