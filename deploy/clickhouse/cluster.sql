-- llmobserve on a ClickHouse cluster named `llmobserve` (adjust the name and the macros).
-- Local Replicated tables hold the data; Distributed tables with the app's table names route
-- reads and writes. Sharding by tenant keeps each tenant's spans (and their dedup) on one shard.
-- Columns must match storage/_migrations.py (the single-node schema, migration 1).

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

-- tenants and api_keys are small: replicate them everywhere instead of sharding.
CREATE TABLE IF NOT EXISTS llmobserve.tenants ON CLUSTER llmobserve (
    tenant String, created_at DateTime64(3, 'UTC'), version UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/llmobserve/tenants', '{replica}', version)
ORDER BY tenant;

CREATE TABLE IF NOT EXISTS llmobserve.api_keys ON CLUSTER llmobserve (
    tenant String, key_id String, key_hash String, scopes Array(LowCardinality(String)), name String,
    created_at DateTime64(3, 'UTC'), revoked Bool, version UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/llmobserve/api_keys', '{replica}', version)
ORDER BY (tenant, key_id);
