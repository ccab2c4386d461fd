"""Tables derived from ``spans``: cost rollups, run summaries and a trace_id → hours lookup.

Rollups are never added to, only recomputed from ``spans FINAL`` per (tenant, hour or day) and
published with a version in ``rollup_state``; readers take each bucket's published version only.
So a span delivered twice (or re-priced, or re-attributed) can never be counted twice, and
nothing needs FINAL on the rollups themselves. See ``_rollups.py``.
"""

from __future__ import annotations

__all__ = ["MARK_EXISTING", "ROLLUP_STATEMENTS", "SESSION_ROLLUPS"]

# trace → hours it has spans in, filled when an hour's rollups are refreshed (not on ingest: a
# materialized view cost 35% more per insert, measured), so it covers every refreshed hour; readers
# add the dirty hours themselves. Duplicates collapse (it is a set).
_TRACE_INDEX = """
CREATE TABLE IF NOT EXISTS trace_index (
    tenant LowCardinality(String),
    trace_id String,
    hour DateTime('UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant, trace_id, hour)
"""

# marked: when spans of the bucket were last written; done: the newest mark a refresh covered;
# version: the refresh whose rows readers use. Dirty = marked > done.
_STATE = """
CREATE TABLE IF NOT EXISTS rollup_state (
    tenant LowCardinality(String),
    grain LowCardinality(String),
    bucket DateTime('UTC'),
    marked SimpleAggregateFunction(max, UInt64),
    done SimpleAggregateFunction(max, UInt64),
    version SimpleAggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant, grain, bucket)
"""
# Marks every bucket that holds spans (of the tenants ``where`` selects): at migration, and after
# spans were written in SQL, behind the writer's back.
MARK_EXISTING = """
INSERT INTO rollup_state (tenant, grain, bucket, marked, done, version)
SELECT tenant, g.1, g.2, toUInt64(toUnixTimestamp64Nano(now64(9))), 0, 0
FROM (SELECT DISTINCT tenant, toStartOfHour(start_time) AS h FROM spans {where})
ARRAY JOIN [('hour', h), ('day', toStartOfDay(h))] AS g
"""

_METRICS = """
    cost_usd Decimal(38, 12),
    calls UInt64,
    failed_calls UInt64,
    unpriced_calls UInt64,
    input_tokens UInt64,
    output_tokens UInt64,
    cached_tokens UInt64,
    version UInt64
"""
# One dimension at a time, per hour: small (tens of rows per hour), serves every unfiltered query.
_COST_DIMS = f"""
CREATE TABLE IF NOT EXISTS cost_dims (
    tenant LowCardinality(String),
    start_time DateTime('UTC'),
    dim LowCardinality(String),
    value String,{_METRICS})
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant, dim, start_time, value)
"""
# Every dimension together, per day: serves filtered queries. "2": session joined the sorting key,
# which a table cannot gain in place (migration 5 created this one and dropped ``cost_daily``).
_COST_DAILY = f"""
CREATE TABLE IF NOT EXISTS cost_daily2 (
    tenant LowCardinality(String),
    start_time DateTime('UTC'),
    provider LowCardinality(String),
    model LowCardinality(String),
    agent LowCardinality(String),
    customer String,
    section_path String,
    service LowCardinality(String),
    tool LowCardinality(String),
    session String,{_METRICS})
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant, start_time, provider, model, agent, customer, service, section_path, tool, session)
"""
# One row per run (trace), rewritten with a newer version whenever the run gains spans.
_RUNS = """
CREATE TABLE IF NOT EXISTS runs (
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
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant, trace_id)
"""

ROLLUP_STATEMENTS = [_TRACE_INDEX, _STATE, MARK_EXISTING.format(where=""), _COST_DIMS, _RUNS]
SESSION_ROLLUPS = [_COST_DAILY, "DROP TABLE IF EXISTS cost_daily"]
