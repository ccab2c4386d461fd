"""``semconv.normalize`` as ClickHouse expressions, generated from ``semconv``'s own tables.

Every spelling list (the lookup tuples of ``semconv.attributes``) and alias table (provider and
operation names) comes from ``semconv``, so there is still one list of names. The spellings are
data, not expressions: each attribute key maps to a code (its field's slot and its rank among the
field's spellings) through one ``transform`` over two literal arrays, and one pass per span picks,
per slot, the most trusted present attribute. ClickHouse analyses every query anew, at roughly
0.1 ms per expression node and more per lambda (measured), so the query must stay small: a
``multiIf`` over every spelling of every field took 0.45 s to analyse; this takes a few ms.
Python's ``normalize`` is the oracle (``bench/sql_ingest_probe.py`` compares both).
"""

from __future__ import annotations

import re

from llmobserve.semconv import _attributes as a
from llmobserve.semconv import _normalize as n

from .values import array, quoted

__all__ = ["SLOTS", "Picked", "key_codes", "layers", "normalize", "picked"]

# Fields read from several spellings (first present wins) and keys read alone (``attrs.get``).
_MULTI = {
    "provider": a.PROVIDER_KEYS, "request_model": a.REQUEST_MODEL_KEYS, "response_model": a.RESPONSE_MODEL_KEYS,
    "section": a.SECTION_KEYS, "customer": a.CUSTOMER_KEYS, "session": a.SESSION_KEYS,
    "in": a.INPUT_TOKEN_KEYS, "out": a.OUTPUT_TOKEN_KEYS, "read": a.CACHE_READ_KEYS, "write": a.CACHE_WRITE_KEYS,
    "reason": a.REASONING_KEYS, "tier": a.SERVICE_TIER_KEYS, "http": a.HTTP_STATUS_KEYS, "cost": a.CLIENT_COST_KEYS,
}
_SINGLE = {
    "operation": a.GEN_AI_OPERATION_NAME, "request_type": a.LLM_REQUEST_TYPE, "oi_kind": a.OPENINFERENCE_SPAN_KIND,
    "tl_kind": a.TRACELOOP_SPAN_KIND, "ai_operation": a.AI_OPERATION_ID, "agent_name": a.GEN_AI_AGENT_NAME,
    "tl_entity": a.TRACELOOP_ENTITY_NAME, "oi_agent": a.AGENT_NAME, "graph_node": a.GRAPH_NODE_ID,
    "function_id": a.AI_TELEMETRY_FUNCTION_ID, "tool_name": a.GEN_AI_TOOL_NAME, "oi_tool": a.TOOL_NAME,
    "ai_tool": a.AI_TOOL_CALL_NAME, "write_1h": a.LLMOBSERVE_USAGE_CACHE_WRITE_1H, "batch": a.LLMOBSERVE_BATCH,
    "error_type": a.ERROR_TYPE, "priced_by": a.LLMOBSERVE_PRICED_BY, "metadata": a.OPENINFERENCE_METADATA,
    "lg_node": a.TRACELOOP_LANGGRAPH_NODE, "service": a.SERVICE_NAME,
}
SLOTS: dict[str, int] = {name: i for i, name in enumerate([*_MULTI, *_SINGLE])}
_RANKS = 64


def key_codes(multi: dict[str, tuple[str, ...]] | None = None) -> dict[str, int]:
    """Attribute key → ``1 + slot * 64 + rank``; ``multi`` replaces spelling lists (a tenant's own
    customer and session attributes)."""
    lists = {**_MULTI, **(multi or {}), **{name: (key,) for name, key in _SINGLE.items()}}
    codes: dict[str, int] = {}
    for name, keys in lists.items():
        for rank, key in enumerate(keys[:_RANKS]):
            codes.setdefault(key, 1 + SLOTS[name] * _RANKS + rank)  # a key in two lists counts for the first
    return codes


def picked(keys: str, texts: str, kinds: str, codes: dict[str, int]) -> str:
    """Per slot, the (code, text, kind) of the most trusted present attribute ((0, '', '') if none)."""
    code = f"transform(k, {array(codes)}, [{', '.join(str(c) for c in codes.values())}], 0)"
    ranked = (f"arraySort(arrayFilter(x -> x.1 > 0 AND x.2 != '', "
              f"arrayZip(arrayMap(k -> toUInt32({code}), {keys}), {texts}, {kinds})))")
    return f"arrayMap(j -> arrayFirst(x -> intDiv(x.1 - 1, {_RANKS}) = j, {ranked}), range({len(SLOTS)}))"


class Picked:
    """SQL over a ``picked`` column: each slot's text, kind, and Python's tests on them."""

    def __init__(self, column: str) -> None:
        self.c = column

    def text(self, slot: str) -> str:
        return f"{self.c}[{SLOTS[slot] + 1}].2"

    def kind(self, slot: str) -> str:
        return f"{self.c}[{SLOTS[slot] + 1}].3"

    def present(self, slot: str) -> str:
        return f"({self.text(slot)} != '')"

    def truthy(self, slot: str) -> str:
        t, k = self.text(slot), self.kind(slot)
        return (f"({t} != '' AND NOT ({k} = 'i' AND {t} = '0') AND NOT ({k} = 'b' AND {t} = 'false') "
                f"AND NOT ({k} = 'd' AND toFloat64OrZero({t}) = 0))")

    def str(self, slot: str) -> str:
        """Python's ``str(value)``: the text, but ``True``/``False`` for bools."""
        t, k = self.text(slot), self.kind(slot)
        return f"if({k} = 'b', if({t} = 'true', 'True', 'False'), {t})"

    def count(self, slot: str) -> str:
        """``_count``: a non-negative whole number as Float64; bools and garbage are 0. Texts that
        are not plain digits send their span to Python (``stage``), so parsing stays simple."""
        t, k = self.text(slot), self.kind(slot)
        return f"if({k} IN ('i', 'd', 's', 'x'), greatest(trunc(toFloat64OrZero({t})), 0), 0)"


def _innermost(path: str, prefix: str) -> str:
    """``_innermost``: the last ``/`` segment of ``path`` that starts with ``prefix``, without it."""
    found = f"arrayFirst(seg -> startsWith(seg, {quoted(prefix)}), arrayReverse(splitByChar('/', {path})))"
    return f"substring({found}, {len(prefix) + 1})"


def _provider(p: Picked) -> str:
    aliases, sdk = n._PROVIDER_ALIASES, n._AI_SDK_PROVIDERS
    low = f"lowerUTF8(trimBoth({p.str('provider')}))"
    head = "splitByChar('.', n_provider_low)[1]"
    return (f"multiIf(n_provider_low = '', '', has({array(aliases)}, n_provider_low), "
            f"transform(n_provider_low, {array(aliases)}, {array(aliases.values())}, ''), "
            f"has({array(sorted(n._DOTTED_NAMES))}, n_provider_low), n_provider_low, "
            f"position(n_provider_low, '.') = 0, if(has({array(sorted(n._AI_SDK_BARE))}, n_provider_low), "
            f"transform(n_provider_low, {array(sdk)}, {array(sdk.values())}, n_provider_low), n_provider_low), "
            f"{head} = 'google' AND startsWith(substring(n_provider_low, 8), 'vertex'), {quoted(sdk['google.vertex'])}, "
            f"transform({head}, {array(sdk)}, {array(sdk.values())}, n_provider_low))"), low


def _operation(p: Picked) -> str:
    ops = n._OPERATION_ALIASES
    arms = [p.truthy("operation"), p.str("operation")]
    for slot in ("request_type", "oi_kind", "tl_kind"):
        low = f"lowerUTF8({p.str(slot)})"
        arms += [p.truthy(slot), f"transform({low}, {array(ops)}, {array(ops.values())}, {low})"]
    sdk = p.str("ai_operation")
    calls = [f"endsWith({sdk}, {quoted(suffix)}), {quoted(op)}" for suffix, op in n._AI_SDK_CALLS.items()]
    arms += [p.truthy("ai_operation"), f"multiIf({sdk} = 'ai.toolCall', 'execute_tool', {', '.join(calls)}, {sdk})"]
    return f"multiIf({', '.join(arms)}, '')"


def _json_text(meta: str, field: str) -> str:
    """``_text(data[field])`` when truthy, for a string, whole-number or true JSON member ('' otherwise)."""
    kind = f"JSONType({meta}, {quoted(field)})"
    raw = f"JSONExtractRaw({meta}, {quoted(field)})"
    return (f"multiIf({kind} = 'String', JSONExtractString({meta}, {quoted(field)}), {kind} IN ('Int64', 'UInt64'), "
            f"if({raw} = '0', '', {raw}), {kind} = 'Bool' AND JSONExtractBool({meta}, {quoted(field)}), 'True', '')")


def normalize(p: Picked, name: str) -> dict[str, str]:
    """One expression per ``GenAIRecord`` field of the span whose slots ``p`` holds and whose name
    is the SQL expression ``name``. Fields refer to each other as ``n_<field>`` (see ``layers``)."""
    e: dict[str, str] = {}
    e["operation"] = _operation(p)
    e["provider"], e["provider_low"] = _provider(p)
    e["provider_text"] = p.str("provider")
    e["request_model"] = p.str("request_model")
    e["response_model"] = p.str("response_model")
    e["raw_section"] = p.str("section")
    e["customer"] = p.str("customer")
    e["session"] = p.str("session")
    e["own_agent"] = (f"multiIf({p.truthy('agent_name')}, {p.str('agent_name')}, "
                      f"{p.kind('tl_kind')} = 's' AND {p.text('tl_kind')} = 'agent' AND {p.truthy('tl_entity')}, "
                      f"{p.str('tl_entity')}, {p.truthy('oi_agent')}, {p.str('oi_agent')}, "
                      f"{p.kind('oi_kind')} = 's' AND {p.text('oi_kind')} = 'AGENT' AND {p.truthy('graph_node')}, "
                      f"{p.str('graph_node')}, '')")
    e["section_agent"] = _innermost("n_raw_section", "agent:")
    e["first_agent"] = "multiIf(n_own_agent != '', n_own_agent, n_section_agent != '', n_section_agent, " \
                       f"{p.str('function_id')})"
    # LangGraph (semconv._langgraph): when no section is set and a LangGraph key is there
    meta = p.text("metadata")
    meta_ok = (f"({p.kind('metadata')} = 's' AND position({meta}, 'langgraph') > 0 AND "
               f"lengthUTF8({meta}) <= {n._MAX_METADATA} AND isValidJSON({meta}) AND JSONType({meta}) = 'Object')")
    e["lg_on"] = f"(n_raw_section = '' AND ({p.present('metadata')} OR {p.present('lg_node')}))"
    e["lg_meta"] = f"n_lg_on AND NOT {p.truthy('lg_node')} AND {meta_ok}"
    e["lg_node"] = (f"multiIf(NOT n_lg_on, '', {p.truthy('lg_node')}, {p.str('lg_node')}, "
                    f"n_lg_meta, {_json_text(meta, 'langgraph_node')}, '')")
    e["lg_graph_agent"] = (f"(n_lg_meta AND n_lg_node = '' AND JSONType({meta}, 'ls_integration') = 'String' AND "
                           f"JSONExtractString({meta}, 'ls_integration') = 'langgraph' AND {name} != '' AND "
                           f"n_first_agent = '')")
    e["agent"] = f"if(n_lg_graph_agent, {name}, n_first_agent)"
    e["section_path"] = (f"multiIf(n_lg_node != '', concat('node:', n_lg_node), n_lg_graph_agent, concat('agent:', {name}), "
                         f"n_raw_section)")
    e["tool"] = (f"multiIf({p.truthy('tool_name')}, {p.str('tool_name')}, "
                 f"{p.kind('tl_kind')} = 's' AND {p.text('tl_kind')} = 'tool' AND {p.truthy('tl_entity')}, "
                 f"{p.str('tl_entity')}, {p.truthy('oi_tool')}, {p.str('oi_tool')}, {p.truthy('ai_tool')}, "
                 f"{p.str('ai_tool')}, {_innermost('n_section_path', 'tool:')})")
    for slot in ("in", "out", "read", "write", "reason", "write_1h", "http"):
        e[f"raw_{slot}"] = p.count(slot)
    e["has_usage"] = "(" + " OR ".join(p.present(s) for s in ("in", "out", "read", "write", "reason")) + ")"
    e["cache_read_tokens"] = "n_raw_read"
    e["cache_write_tokens"] = "n_raw_write"
    e["cache_write_1h_tokens"] = "least(n_raw_write_1h, n_raw_write)"
    e["input_tokens"] = "if(n_raw_read + n_raw_write > n_raw_in, n_raw_read + n_raw_write, n_raw_in)"
    e["reasoning_tokens"] = "n_raw_reason"
    e["output_tokens"] = "greatest(n_raw_out, n_raw_reason)"
    e["client_cost"] = f"if({p.kind('cost')} IN ('s', 'i', 'd', 'x'), {p.text('cost')}, NULL)"
    bt, bk = p.text("batch"), p.kind("batch")
    e["is_batch"] = (f"({bk} = 'b' AND {bt} = 'true' OR {bk} = 's' AND {bt} IN ('true', 'True', 'TRUE', '1') OR "
                     f"{bk} = 'i' AND {bt} = '1' OR {bk} = 'd' AND toFloat64OrZero({bt}) = 1)")
    e["service_tier"] = p.str("tier")
    e["http_status"] = "n_raw_http"
    e["error_type"] = p.str("error_type")
    inference, grouping = sorted(n.INFERENCE_OPERATIONS), sorted(n.GROUPING_OPERATIONS | n.AI_SDK_ROLLUPS)
    e["is_llm"] = (f"multiIf({p.truthy('priced_by')}, false, has({array(inference)}, n_operation), true, "
                   f"has({array(grouping)}, n_operation), false, "
                   f"n_has_usage AND (n_request_model != '' OR n_response_model != '' OR n_provider != ''))")
    return e


def layers(fields: dict[str, str]) -> list[dict[str, str]]:
    """``fields`` in dependency layers: each refers only to those of earlier layers (``n_<name>``).

    Each layer becomes its own subquery, so a field is a column to the next one: aliases within
    one SELECT are copied into every expression that uses them before analysis."""
    level: dict[str, int] = {}

    def depth(name: str) -> int:
        if name not in level:
            deps = [d for d in re.findall(r"\bn_(\w+)", fields[name]) if d in fields and d != name]
            level[name] = 1 + max((depth(d) for d in deps), default=-1)
        return level[name]

    out: list[dict[str, str]] = [{} for _ in range(1 + max(depth(name) for name in fields))]
    for name, expr in fields.items():
        out[level[name]][name] = expr
    return out
