"""The first query of a SQL ingest batch: raw envelopes → one normalized, validated row per span.

``stage_select`` reads the batch's envelopes (``source``: ``file(...)`` on embedded chDB,
``input(...)`` on a server), explodes resource → scope → span, writes attributes as the Python
decoder does, normalizes them (``normalize``) and gives each span the first reason it must be
refused ('' when it may be stored), in the decoder's words and order. ``rare`` marks the spans the
Python decoder writes instead (``values``). Pricing, cost and hour bounds, and the cross-span
rules would come after (``storage._sql_cost`` prices rows like these).
"""

from __future__ import annotations

from llmobserve.semconv import _attributes as a

from llmobserve.otlp_receiver._decode import CLOCK_SKEW, CLOCK_SKEW_ORIGINAL_START
from llmobserve.otlp_receiver._limits import NS_PER_DAY, Limits

from .normalize import Picked, key_codes, layers, normalize, picked
from .values import may_need_redaction, quoted, value_is_rare, value_kind, value_text

__all__ = ["STAGE_COLUMNS", "STAGE_DDL", "stage_select"]

STAGE_DDL = """CREATE TABLE IF NOT EXISTS {name} (
    tenant String, request_id UInt64, rs_i UInt32, ss_i UInt32, s_i UInt32,
    trace_id String, span_id String, parent_span_id String, name String, kind String, service String, scope String,
    start_ns Int64, end_ns Int64, duration_ns UInt64, status_code String, status_message String, failed Bool,
    operation String, provider String, request_model String, response_model String, model String, agent String,
    section_path String, customer String, session String, tool String, is_llm Bool, has_usage Bool,
    input_tokens UInt64, output_tokens UInt64, cache_read_tokens UInt64, cache_write_tokens UInt64,
    cache_write_1h_tokens UInt64, reasoning_tokens UInt64, is_batch Bool, service_tier String,
    http_status UInt64, error_type String, client_cost Nullable(String),
    span_attributes Map(String, String), resource_attributes Map(String, String), events String, links String,
    reason String, skewed Bool, rare Bool
) ENGINE = Memory"""

STAGE_COLUMNS = ("tenant", "request_id", "rs_i", "ss_i", "s_i", "trace_id", "span_id", "parent_span_id", "name",
                 "kind", "service", "scope", "start_ns", "end_ns", "duration_ns", "status_code", "status_message",
                 "failed", "operation", "provider", "request_model", "response_model", "model", "agent",
                 "section_path", "customer", "session", "tool", "is_llm", "has_usage", "input_tokens",
                 "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
                 "reasoning_tokens", "is_batch", "service_tier", "http_status", "error_type", "client_cost",
                 "span_attributes", "resource_attributes", "events", "links", "reason", "skewed", "rare")

_KINDS = "['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']"
_STATUS = "['unset', 'ok', 'error']"
_COUNTS = (*a.INPUT_TOKEN_KEYS, *a.OUTPUT_TOKEN_KEYS, *a.CACHE_READ_KEYS, *a.CACHE_WRITE_KEYS, *a.REASONING_KEYS,
           a.LLMOBSERVE_USAGE_CACHE_WRITE_1H, *a.HTTP_STATUS_KEYS)


def _tuple(keys: object) -> str:
    return "(" + ", ".join(quoted(str(k)) for k in sorted(set(keys))) + ")"  # type: ignore[call-overload]


def _attribute_is_rare(kv: str, text: str, read: str) -> str:
    """Whether one attribute sends its span to Python: a rare value, a URL to redact, a container
    where a name is read (``read``: the keys normalization reads), a count or cost that is not
    plain digits. ``IN`` over a literal tuple is one hash lookup."""
    scalar_text = f"{kv}.value.string_value IS NOT NULL OR {kv}.value.bytes_value IS NOT NULL"
    container = f"notEmpty({kv}.value.array_value.values) OR {kv}.value.kvlist_value != ''"
    return (f"{value_is_rare(f'{kv}.value')} OR {may_need_redaction(kv)} OR "
            f"({container}) AND {kv}.key IN {read} OR "
            f"({scalar_text}) AND {kv}.key IN {_tuple(_COUNTS)} AND NOT match({text}, '^[0-9]{{1,15}}$') OR "
            f"({scalar_text}) AND {kv}.key IN {_tuple(a.CLIENT_COST_KEYS)} AND "
            f"NOT match({text}, '^[0-9]{{1,15}}(\\\\.[0-9]{{1,20}})?$')")


def _attributes(kvs: str, prefix: str, read: str) -> str:
    """Keys, stored texts, kinds and the rare flag of a KeyValue array."""
    return (f"arrayMap(kv -> kv.key, {kvs}) AS {prefix}_keys, "
            f"arrayMap(kv -> {value_text('kv.value')}, {kvs}) AS {prefix}_texts, "
            f"arrayMap(kv -> {value_kind('kv.value')}, {kvs}) AS {prefix}_kinds, "
            f"length(arrayDistinct({prefix}_keys)) != length({prefix}_keys) OR "
            f"arrayExists((kv, text) -> {_attribute_is_rare('kv', 'text', read)}, {kvs}, {prefix}_texts) AS {prefix}_rare")


def _picked(prefix: str, custom: dict[str, dict[str, tuple[str, ...]]]) -> str:
    """``picked`` for attribute set ``prefix``; tenants with their own customer or session lists
    get their own codes."""
    default = picked(f"{prefix}_keys", f"{prefix}_texts", f"{prefix}_kinds", key_codes())
    if not custom:
        return default
    arms = ", ".join(f"tenant = {quoted(t)}, {picked(f'{prefix}_keys', f'{prefix}_texts', f'{prefix}_kinds', key_codes(lists))}"
                     for t, lists in sorted(custom.items()))
    return f"multiIf({arms}, {default})"


def stage_parts(source: str, limits: Limits, now_ns: int,
                custom: dict[str, dict[str, tuple[str, ...]]] | None = None) -> tuple[str, dict[str, str]]:
    """The normalized span rows (a query) and the stage columns over them (expressions)."""
    custom = custom or {}
    read = _tuple([*key_codes(), *(k for lists in custom.values() for keys in lists.values() for k in keys)])
    p, r = Picked("s_picked"), Picked("r_picked")
    spans = f"""
    SELECT tenant, request_id, rs_i, ss_i, s_i, ss.scope.name AS scope, r_keys, r_texts, r_rare, r_picked,
        s.trace_id AS s_trace_id, s.span_id AS s_span_id, s.parent_span_id AS s_parent_span_id, s.name AS s_name,
        s.kind AS s_kind, s.start_time_unix_nano AS s_start, s.end_time_unix_nano AS s_end, s.status.code AS s_code,
        s.status.message AS s_message, length(s.events) + length(s.links) AS s_events_links,
        {_attributes('s.attributes', 's', read)}, {_picked('s', custom)} AS s_picked
    FROM (
        SELECT tenant, request_id, rs_i, rs.scope_spans AS scope_spans,
            {_attributes('rs.resource.attributes', 'r', read)}, {_picked('r', custom)} AS r_picked
        FROM {source}
        ARRAY JOIN body.resource_spans AS rs, arrayEnumerate(body.resource_spans) AS rs_i
    )
    ARRAY JOIN scope_spans AS ss, arrayEnumerate(scope_spans) AS ss_i
    ARRAY JOIN ss.spans AS s, arrayEnumerate(ss.spans) AS s_i"""
    for layer in layers(normalize(p, "s_name")):
        spans = f"SELECT *, {', '.join(f'{expr} AS n_{name}' for name, expr in layer.items())} FROM ({spans})"

    oldest, latest = now_ns - limits.retention_ns, now_ns + limits.max_future_ns
    start, end = "toInt64(s_start)", "toInt64(s_end)"
    largest = "greatest(n_input_tokens, n_output_tokens, n_raw_read, n_raw_write, n_raw_reason)"
    reason = (
        f"multiIf(length(s_trace_id) != 16 OR s_trace_id = repeat(char(0), 16), "
        f"concat('trace_id must be 16 non-zero bytes, got ', toString(length(s_trace_id)), ' bytes'), "
        f"length(s_span_id) != 8 OR s_span_id = repeat(char(0), 8), "
        f"concat('span_id must be 8 non-zero bytes, got ', toString(length(s_span_id)), ' bytes'), "
        f"length(s_parent_span_id) NOT IN (0, 8), "
        f"concat('parent_span_id must be empty or 8 bytes, got ', toString(length(s_parent_span_id)), ' bytes'), "
        f"{start} < {oldest}, 'start_time is older than the {limits.retention_days}-day retention', "
        f"{end} > {start} AND {end} - {start} > {limits.max_duration_ns}, "
        f"'end_time is more than {limits.max_duration_ns // NS_PER_DAY} days after start_time', "
        f"{largest} > {limits.max_tokens}, "
        f"concat('token count ', toString(toUInt64({largest})), ' is over {limits.max_tokens}'), '')")
    skew = f"({start} > {latest})"
    pairs = (f"if({skew}, arrayConcat(arrayZip(s_keys, s_texts), [({quoted(CLOCK_SKEW)}, 'true'), "
             f"({quoted(CLOCK_SKEW_ORIGINAL_START)}, toString(s_start))]), arrayZip(s_keys, s_texts))")
    provider = "match(n_provider_text, '[^ -~]') OR match(n_provider_text, '^ | $')"
    rare = (f"s_rare OR r_rare OR s_events_links > 0 OR {provider} OR s_kind < 0 OR s_code < 0 "
            f"OR s_start >= 9223372036854775808 OR s_end >= 9223372036854775808")

    def label(slot: str) -> str:
        return f"if(n_{slot} != '', n_{slot}, {r.str(slot)})"

    outer = {
        "tenant": "tenant", "request_id": "request_id", "rs_i": "rs_i", "ss_i": "ss_i", "s_i": "s_i",
        "trace_id": "lower(hex(s_trace_id))", "span_id": "lower(hex(s_span_id))",
        "parent_span_id": "lower(hex(s_parent_span_id))", "name": "s_name",
        "kind": f"if(s_kind >= 0 AND s_kind < 6, {_KINDS}[s_kind + 1], 'unspecified')",
        "service": f"if({r.truthy('service')}, {r.str('service')}, 'unknown_service')", "scope": "scope",
        "start_ns": f"if({skew}, {now_ns}, {start})",
        "end_ns": f"if({skew} AND {end} >= {start}, {end} - ({start} - {now_ns}), {end})",
        "duration_ns": "if(end_ns > start_ns, toUInt64(end_ns - start_ns), 0)",
        "status_code": f"if(s_code >= 0 AND s_code < 3, {_STATUS}[s_code + 1], 'unset')",
        "status_message": "s_message", "failed": "s_code = 2",
        **{c: f"n_{c}" for c in ("operation", "provider", "request_model", "response_model", "agent", "section_path",
                                 "tool", "is_llm", "has_usage", "is_batch", "service_tier", "error_type", "client_cost")},
        "model": "if(n_response_model != '', n_response_model, n_request_model)",
        "customer": label("customer"), "session": label("session"),
        **{c: f"toUInt64(least(n_{c}, 1e19))" for c in ("input_tokens", "output_tokens", "cache_read_tokens",
                                                       "cache_write_tokens", "cache_write_1h_tokens",
                                                       "reasoning_tokens", "http_status")},
        "span_attributes": f"CAST({pairs}, 'Map(String, String)')",
        "resource_attributes": "CAST(arrayZip(r_keys, r_texts), 'Map(String, String)')",
        "events": "''", "links": "''", "reason": reason, "skewed": skew, "rare": rare,
    }
    return spans, outer


def stage_select(source: str, limits: Limits, now_ns: int,
                 custom: dict[str, dict[str, tuple[str, ...]]] | None = None) -> str:
    """``SELECT`` of ``STAGE_COLUMNS`` from ``source`` (rows of the envelope structure).
    ``custom``: tenant → {"customer": keys, "session": keys} for tenants with their own lists."""
    spans, outer = stage_parts(source, limits, now_ns, custom)
    return (f"SELECT {', '.join(STAGE_COLUMNS)} FROM (SELECT "
            + ", ".join(f"{outer[name]} AS {name}" for name in STAGE_COLUMNS) + f" FROM ({spans}))")
