"""Seed a data dir with agent runs generated inside ClickHouse (INSERT … SELECT over ``numbers()``).

Going through OTLP would take minutes per million spans here; generating in SQL fills the real
``spans`` schema in seconds. Each run is 5 spans: an ``invoke_agent`` root, three priced chat calls
(2% of them failed with a 429, cost 0) and one tool call, spread evenly over the last ``days``.
Costs are exact decimals computed from per-model prices, so the figures are checkable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from llmobserve.storage import Store, StoreConfig

__all__ = ["MODELS", "seed"]

# (provider, model, $ per input token, $ per output token)
MODELS = [
    ("openai", "gpt-4o", "0.0000025", "0.00001"),
    ("openai", "gpt-4o-mini", "0.00000015", "0.0000006"),
    ("anthropic", "claude-sonnet-4-5", "0.000003", "0.000015"),
    ("anthropic", "claude-haiku-4-5", "0.000001", "0.000005"),
    ("gcp.gemini", "gemini-2.5-pro", "0.00000125", "0.00001"),
    ("mistral_ai", "mistral-large-latest", "0.000002", "0.000006"),
    ("openai", "o3", "0.000002", "0.000008"),
    ("groq", "llama-3.1-8b-instant", "0.00000005", "0.00000008"),
]
RUNS_PER_SESSION = 4  # a conversation of four turns, one customer's
SPANS_PER_RUN = 5


def _array(values: list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def seed(
    data_dir: str,
    spans: int,
    days: int,
    customers: int,
    agents: int,
    tenant: str = "default",
    end: datetime | None = None,
) -> str:
    """Insert ``spans`` spans for ``tenant`` ending at ``end`` (default now); returns an admin key for it."""
    end = (end or datetime.now(UTC)).replace(microsecond=0)
    start = end - timedelta(days=days)
    runs = spans // SPANS_PER_RUN
    step_ns = int(timedelta(days=days).total_seconds() * 1e9) // runs
    providers, models = _array([m[0] for m in MODELS]), _array([m[1] for m in MODELS])
    prices_in = "[" + ", ".join(f"toDecimal128('{m[2]}', 12)" for m in MODELS) + "]"
    prices_out = "[" + ", ".join(f"toDecimal128('{m[3]}', 12)" for m in MODELS) + "]"
    sql = f"""
    INSERT INTO spans (tenant, trace_id, span_id, parent_span_id, name, kind, service, scope, start_time, end_time,
        duration_ns, status_code, status_message, operation, provider, request_model, response_model, model, agent,
        section_path, customer, session, tool, is_llm, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
        reasoning_tokens, cost_usd, cost_input_usd, cost_output_usd, cost_cache_read_usd, cost_cache_write_usd,
        price_source, priced, billable, is_batch, http_status, error_type, span_attributes, resource_attributes,
        events, links, ingest_time, version)
    SELECT '{tenant}', trace_id, span_id, if(pos = 0, '', root_id), name, if(llm, 'CLIENT', 'INTERNAL'),
        service, if(llm, 'opentelemetry.instrumentation.httpx', 'llmobserve'), t0, t0 + toIntervalMillisecond(dur_ms),
        dur_ms * 1000000, if(failed, 'error', 'unset'), '', op, if(llm, {providers}[m + 1], ''),
        if(llm, {models}[m + 1], ''), if(llm, {models}[m + 1], ''), if(llm, {models}[m + 1], ''), agent,
        concat('agent:', agent, if(pos = 4, '/tool:search', '')), customer, session, if(pos = 4, 'search', ''), llm,
        tin, tout, cached, 0, 0, cost_in + cost_out, cost_in, cost_out, 0, 0,
        if(llm, 'genai-prices', ''), llm, llm AND NOT failed, false, if(llm, if(failed, 429, 200), 0),
        if(failed, '429', ''), map(), map('service.name', service), '', '', now64(3), 1
    FROM (
        SELECT number, intDiv(number, {SPANS_PER_RUN}) AS run, number % {SPANS_PER_RUN} AS pos,
            lower(hex(MD5(toString(run)))) AS trace_id,
            substring(lower(hex(MD5(concat(toString(run), '/', toString(pos))))), 1, 16) AS span_id,
            substring(lower(hex(MD5(concat(toString(run), '/0')))), 1, 16) AS root_id,
            pos IN (1, 2, 3) AS llm,
            concat('agent_', leftPad(toString(cityHash64(run, 'a') % {agents}), 2, '0')) AS agent,
            intDiv(run, {RUNS_PER_SESSION}) AS conversation,
            concat('sess_', toString(conversation)) AS session,
            concat('cust_', leftPad(toString(cityHash64(conversation, 'c') % {customers}), 3, '0')) AS customer,
            concat('svc_', toString(cityHash64(run, 's') % 3)) AS service,
            toUInt8(cityHash64(run, pos, 'm') % {len(MODELS)}) AS m,
            llm AND cityHash64(run, pos, 'f') % 50 = 0 AS failed,
            if(llm AND NOT failed, 50 + cityHash64(run, pos, 'i') % 20000, 0) AS tin,
            if(llm AND NOT failed, 10 + cityHash64(run, pos, 'o') % 2000, 0) AS tout,
            if(llm AND cityHash64(run, pos, 'k') % 3 = 0, intDiv(tin, 2), 0) AS cached,
            toDecimal128(tin, 0) * {prices_in}[m + 1] AS cost_in_raw,
            toDecimal128(tout, 0) * {prices_out}[m + 1] AS cost_out_raw,
            toDecimal64(cost_in_raw, 12) AS cost_in, toDecimal64(cost_out_raw, 12) AS cost_out,
            multiIf(pos = 0, 'invoke_agent', pos = 4, 'execute_tool', 'chat') AS op,
            multiIf(pos = 0, concat('invoke_agent ', agent), pos = 4, 'execute_tool search',
                    concat('chat ', {models}[m + 1])) AS name,
            toDateTime64('{start:%Y-%m-%d %H:%M:%S}', 9, 'UTC') + toIntervalNanosecond(run * {step_ns})
                + toIntervalMillisecond(pos * 900) AS t0,
            if(pos = 0, 4500, 300 + cityHash64(run, pos, 'd') % 800) AS dur_ms
        FROM numbers({runs * SPANS_PER_RUN})
    )
    """
    store = Store.open(StoreConfig(Path(data_dir).resolve()))
    try:
        store.client.command(sql, settings={"max_insert_threads": 2})
        store.mark_rollups_dirty(tenant)  # written in SQL, behind the writer's back: the rollups must know
        key, _ = store.create_key(tenant, ("admin",), name="query bench")
    finally:
        store.close()
    return key
