"""Cost read models. Every query filters on the tenant first; the tenant is never caller-named."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from clickhouse_connect.driver.client import Client

__all__ = ["FILTERS", "GROUP_BY_EXPRESSIONS", "BreakdownRow", "cost_timeseries", "cost_totals", "UnpricedModel", "cost_breakdown", "unpriced_models", "UNTRACKED",
           "UNKNOWN"]

UNTRACKED = "untracked"
"""Key for LLM cost that belongs to no agent / no customer."""
UNKNOWN = "unknown"
"""Key for LLM calls whose provider or model was not reported."""

# Only these expressions ever reach SQL; the caller picks one by name.
GROUP_BY_EXPRESSIONS: dict[str, str] = {
    "provider": f"if(provider = '', '{UNKNOWN}', provider)",
    "model": f"if(model = '', '{UNKNOWN}', model)",
    "agent": f"if(agent = '', '{UNTRACKED}', agent)",
    "customer": f"if(customer = '', '{UNTRACKED}', customer)",
    "section": f"if(section_path = '', '{UNTRACKED}', section_path)",
    "service": "service",
    "tool": f"if(tool = '', '{UNTRACKED}', tool)",
    "day": "toString(toDate(start_time))",
    "hour": "formatDateTime(toStartOfHour(start_time), '%Y-%m-%dT%H:00:00Z')",
}
# Filters a caller may set; each compares the grouped value, so 'untracked' / 'unknown' filter too.
FILTERS = ("provider", "model", "agent", "customer", "service")


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    key: str
    cost_usd: Decimal
    calls: int
    input_tokens: int
    output_tokens: int
    unpriced_calls: int = 0
    failed_calls: int = 0
    cached_tokens: int = 0


@dataclass(frozen=True, slots=True)
class UnpricedModel:
    provider: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    first_seen: object
    last_seen: object


def cost_breakdown(client: Client, tenant: str, group_by: str, start: datetime, end: datetime,
                   filters: dict[str, str] | None = None) -> list[BreakdownRow]:
    """LLM cost per ``group_by`` key for spans starting in [start, end), most expensive first.

    FINAL collapses spans delivered more than once, so a retry never counts twice.
    """
    expr = GROUP_BY_EXPRESSIONS[group_by]
    params: dict[str, object] = {"tenant": tenant, "start": start, "end": end}
    where = ""
    for name, value in sorted((filters or {}).items()):
        if name not in FILTERS:
            raise ValueError(f"cannot filter on {name!r}")
        where += f" AND {GROUP_BY_EXPRESSIONS[name]} = {{f_{name}:String}}"
        params[f"f_{name}"] = value
    sql = f"""
        SELECT {expr} AS key, sum(cost_usd), count(), sum(input_tokens), sum(output_tokens),
               countIf(NOT priced), countIf(NOT billable AND priced), sum(cache_read_tokens)
        FROM spans FINAL
        WHERE tenant = {{tenant:String}} AND is_llm
          AND start_time >= {{start:DateTime64(9, 'UTC')}} AND start_time < {{end:DateTime64(9, 'UTC')}}{where}
        GROUP BY key
        ORDER BY 2 DESC, key
        SETTINGS do_not_merge_across_partitions_select_final = 1
    """
    rows = client.query(sql, parameters=params).result_rows
    return [BreakdownRow(key, Decimal(cost), int(calls), int(tin), int(tout), int(unpriced), int(failed), int(cached))
            for key, cost, calls, tin, tout, unpriced, failed, cached in rows]


def unpriced_models(client: Client, tenant: str, start: datetime, end: datetime) -> list[UnpricedModel]:
    """LLM calls that could not be priced, per (provider, model): never silently $0."""
    sql = f"""
        SELECT {GROUP_BY_EXPRESSIONS["provider"]} AS p, {GROUP_BY_EXPRESSIONS["model"]} AS m, count(),
               sum(input_tokens), sum(output_tokens), min(start_time), max(start_time)
        FROM spans FINAL
        WHERE tenant = {{tenant:String}} AND is_llm AND NOT priced
          AND start_time >= {{start:DateTime64(9, 'UTC')}} AND start_time < {{end:DateTime64(9, 'UTC')}}
        GROUP BY p, m
        ORDER BY 3 DESC, p, m
        SETTINGS do_not_merge_across_partitions_select_final = 1
    """
    rows = client.query(sql, parameters={"tenant": tenant, "start": start, "end": end}).result_rows
    return [UnpricedModel(p, m, int(n), int(tin), int(tout), first, last) for p, m, n, tin, tout, first, last in rows]


_INTERVALS = {"hour": "toStartOfHour(start_time)", "day": "toStartOfDay(start_time)"}


def cost_timeseries(client: Client, tenant: str, interval: str, group_by: str | None, start: datetime,
                    end: datetime) -> list[tuple[datetime, str, Decimal, int]]:
    """(bucket start, key, cost, calls) for buckets that have LLM calls; the caller zero-fills."""
    bucket = _INTERVALS[interval]
    key = GROUP_BY_EXPRESSIONS[group_by] if group_by else "'total'"
    sql = f"""
        SELECT {bucket} AS bucket, {key} AS key, sum(cost_usd), count()
        FROM spans FINAL
        WHERE tenant = {{tenant:String}} AND is_llm
          AND start_time >= {{start:DateTime64(9, 'UTC')}} AND start_time < {{end:DateTime64(9, 'UTC')}}
        GROUP BY bucket, key
        ORDER BY bucket, key
        SETTINGS do_not_merge_across_partitions_select_final = 1
    """
    rows = client.query(sql, parameters={"tenant": tenant, "start": start, "end": end}).result_rows
    return [(b, k, Decimal(c), int(n)) for b, k, c, n in rows]


def cost_totals(client: Client, tenant: str, windows: list[tuple[datetime, datetime]]) -> list[tuple[Decimal, int]]:
    """(cost, LLM calls) for each [start, end) window, in one scan."""
    parts = []
    params: dict[str, object] = {"tenant": tenant}
    for i, (start, end) in enumerate(windows):
        cond = f"start_time >= {{s{i}:DateTime64(9, 'UTC')}} AND start_time < {{e{i}:DateTime64(9, 'UTC')}}"
        parts += [f"sumIf(cost_usd, {cond})", f"countIf({cond})"]
        params[f"s{i}"], params[f"e{i}"] = start, end
    lo, hi = min(w[0] for w in windows), max(w[1] for w in windows)
    params["lo"], params["hi"] = lo, hi
    sql = f"""
        SELECT {", ".join(parts)} FROM spans FINAL
        WHERE tenant = {{tenant:String}} AND is_llm
          AND start_time >= {{lo:DateTime64(9, 'UTC')}} AND start_time < {{hi:DateTime64(9, 'UTC')}}
        SETTINGS do_not_merge_across_partitions_select_final = 1
    """
    row = client.query(sql, parameters=params).result_rows[0]
    return [(Decimal(row[2 * i]), int(row[2 * i + 1])) for i in range(len(windows))]
