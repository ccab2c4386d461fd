-- llmobserve on a ClickHouse cluster named `llmobserve` (adjust the name and the macros).
-- Local Replicated tables hold the data; Distributed tables with the app's table names route
-- reads and writes. Sharding by tenant keeps each tenant's spans (and their dedup) on one shard.
-- Columns must match storage/_migrations.py and storage/_rollup_schema.py (the single-node
-- schema; tests/storage/test_storage.py checks it). Migrations are recorded in schema_migrations.

CREATE DATABASE IF NOT EXISTS llmobserve ON CLUSTER llmobserve;

CREATE TABLE IF NOT EXISTS llmobserve.spans_local ON CLUSTER llmobserve (
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/{shard}/llmobserve/spans', '{replica}', version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant, toStartOfHour(start_time), trace_id, span_id);

CREATE TABLE IF NOT EXISTS llmobserve.spans ON CLUSTER llmobserve
AS llmobserve.spans_local
ENGINE = Distributed(llmobserve, llmobserve, spans_local, cityHash64(tenant));

-- Small tables: replicated to every node instead of sharded.
CREATE TABLE IF NOT EXISTS llmobserve.tenants ON CLUSTER llmobserve (
    tenant String,
    created_at DateTime64(3, 'UTC'),
    version UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/llmobserve/tenants', '{replica}', version)
ORDER BY tenant;

CREATE TABLE IF NOT EXISTS llmobserve.api_keys ON CLUSTER llmobserve (
    tenant String,
    key_id String,
    key_hash String,
    scopes Array(LowCardinality(String)),
    name String,
    created_at DateTime64(3, 'UTC'),
    revoked Bool,
    version UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/llmobserve/api_keys', '{replica}', version)
ORDER BY (tenant, key_id);

CREATE TABLE IF NOT EXISTS llmobserve.custom_prices ON CLUSTER llmobserve (
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
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/llmobserve/custom_prices', '{replica}', version)
ORDER BY (tenant, price_id);

-- Per-tenant settings (migration 4): attribution rules and the like, newest version wins.
CREATE TABLE IF NOT EXISTS llmobserve.tenant_settings ON CLUSTER llmobserve (
    tenant String,
    name LowCardinality(String),
    value String,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3),
    version UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/llmobserve/tenant_settings', '{replica}', version)
ORDER BY (tenant, name);

CREATE TABLE IF NOT EXISTS llmobserve.caps ON CLUSTER llmobserve (
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
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/llmobserve/caps', '{replica}', version)
ORDER BY (tenant, cap_id);

-- Alert recipients' confirmations (migration 8): e-mail goes only to confirmed addresses.
CREATE TABLE IF NOT EXISTS llmobserve.recipients ON CLUSTER llmobserve (
    tenant String,
    address String,
    token_hash String,
    requested_at Nullable(DateTime64(3, 'UTC')),
    confirmed_at Nullable(DateTime64(3, 'UTC')),
    sends Array(DateTime64(3, 'UTC')),
    version UInt64,
    INDEX idx_token_hash token_hash TYPE bloom_filter GRANULARITY 1
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/llmobserve/recipients', '{replica}', version)
ORDER BY (tenant, address);

-- Alert history (migration 7): one row per threshold crossing; the alert id is the dedup key.
CREATE TABLE IF NOT EXISTS llmobserve.alerts ON CLUSTER llmobserve (
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
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/llmobserve/alerts', '{replica}', version)
ORDER BY (tenant, alert_id);

-- Rollup bookkeeping (migration 3): which buckets are dirty and which refresh is published.
CREATE TABLE IF NOT EXISTS llmobserve.rollup_state ON CLUSTER llmobserve (
    tenant LowCardinality(String),
    grain LowCardinality(String),
    bucket DateTime('UTC'),
    marked SimpleAggregateFunction(max, UInt64),
    done SimpleAggregateFunction(max, UInt64),
    version SimpleAggregateFunction(max, UInt64)
) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/llmobserve/rollup_state', '{replica}')
ORDER BY (tenant, grain, bucket);

-- Derived tables (migration 3) are sharded like spans (by tenant), so each shard recomputes its
-- own tenants' rollups from its own spans.
CREATE TABLE IF NOT EXISTS llmobserve.trace_index_local ON CLUSTER llmobserve (
    tenant LowCardinality(String),
    trace_id String,
    hour DateTime('UTC')
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/{shard}/llmobserve/trace_index', '{replica}')
ORDER BY (tenant, trace_id, hour);

CREATE TABLE IF NOT EXISTS llmobserve.trace_index ON CLUSTER llmobserve
AS llmobserve.trace_index_local
ENGINE = Distributed(llmobserve, llmobserve, trace_index_local, cityHash64(tenant));

CREATE TABLE IF NOT EXISTS llmobserve.cost_dims_local ON CLUSTER llmobserve (
    tenant LowCardinality(String),
    start_time DateTime('UTC'),
    dim LowCardinality(String),
    value String,
    cost_usd Decimal(38, 12),
    calls UInt64,
    failed_calls UInt64,
    unpriced_calls UInt64,
    input_tokens UInt64,
    output_tokens UInt64,
    cached_tokens UInt64,
    version UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/{shard}/llmobserve/cost_dims', '{replica}', version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant, dim, start_time, value);

CREATE TABLE IF NOT EXISTS llmobserve.cost_dims ON CLUSTER llmobserve
AS llmobserve.cost_dims_local
ENGINE = Distributed(llmobserve, llmobserve, cost_dims_local, cityHash64(tenant));

CREATE TABLE IF NOT EXISTS llmobserve.cost_daily2_local ON CLUSTER llmobserve (
    tenant LowCardinality(String),
    start_time DateTime('UTC'),
    provider LowCardinality(String),
    model LowCardinality(String),
    agent LowCardinality(String),
    customer String,
    section_path String,
    service LowCardinality(String),
    tool LowCardinality(String),
    session String,
    cost_usd Decimal(38, 12),
    calls UInt64,
    failed_calls UInt64,
    unpriced_calls UInt64,
    input_tokens UInt64,
    output_tokens UInt64,
    cached_tokens UInt64,
    version UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/{shard}/llmobserve/cost_daily2', '{replica}', version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant, start_time, provider, model, agent, customer, service, section_path, tool, session);

CREATE TABLE IF NOT EXISTS llmobserve.cost_daily2 ON CLUSTER llmobserve
AS llmobserve.cost_daily2_local
ENGINE = Distributed(llmobserve, llmobserve, cost_daily2_local, cityHash64(tenant));

CREATE TABLE IF NOT EXISTS llmobserve.runs_local ON CLUSTER llmobserve (
    tenant LowCardinality(String),
    trace_id String,
    start_time DateTime64(9, 'UTC'),
    end_time DateTime64(9, 'UTC'),
    root_name String,
    service LowCardinality(String),
    cost_usd Decimal(38, 12),
    llm_calls UInt64,
    errors UInt64,
    top_section String,
    services Array(LowCardinality(String)),
    customers Array(String),
    sessions Array(String),
    agents Array(LowCardinality(String)),
    version UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/{shard}/llmobserve/runs', '{replica}', version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant, trace_id);

CREATE TABLE IF NOT EXISTS llmobserve.runs ON CLUSTER llmobserve
AS llmobserve.runs_local
ENGINE = Distributed(llmobserve, llmobserve, runs_local, cityHash64(tenant));
