"""Cost read models. Every query filters on the tenant first; the tenant is never caller-named."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from clickhouse_connect.driver.client import Client

from ._rollups import DIMENSIONS
from ._sources import cost_source, dims_source
from ._spans import FINAL_SETTINGS as _FINAL

__all__ = [
    "REST_KEY",
    "timeseries_groups",
    "Breakdown",
    "cost_breakdown_top",
    "cost_tops",
    "FILTERS",
    "GROUP_BY_EXPRESSIONS",
    "BreakdownRow",
    "cost_timeseries",
    "cost_totals",
    "UnpricedModel",
    "cost_breakdown",
    "unpriced_models",
    "UNTRACKED",
    "UNKNOWN",
]

UNTRACKED = "untracked"
"""Key for LLM cost that belongs to no agent / customer / session / section / tool."""
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
    "session": f"if(session = '', '{UNTRACKED}', session)",
    "day": "toString(toDate(start_time))",
    "hour": "formatDateTime(toStartOfHour(start_time), '%Y-%m-%dT%H:00:00Z')",
}
_COLUMN = dict(DIMENSIONS)
# Filters a caller may set; each compares the grouped value, so 'untracked' / 'unknown' filter too.
FILTERS = ("provider", "model", "agent", "customer", "service", "session")


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


def _grouped(
    client: Client, tenant: str, group_by: str, start: datetime, end: datetime, filters: dict[str, str] | None
) -> tuple[str, dict[str, object]]:
    """The per-key sums as a subquery: key, cost, n, then the other metrics."""
    expr = GROUP_BY_EXPRESSIONS[group_by]
    where, values = _filters(filters)
    source, params = cost_source(
        client, tenant, start, end, dim=group_by, filtered=bool(where), hourly=group_by == "hour"
    )
    params.update(values)
    sql = f"""
        SELECT {expr} AS key, sum(cost_usd) AS cost, sum(calls) AS n, sum(input_tokens) AS tin,
               sum(output_tokens) AS tout, sum(unpriced_calls) AS unpriced, sum(failed_calls) AS failed,
               sum(cached_tokens) AS cached
        FROM {source}
        {"WHERE " + " AND ".join(where) if where else ""}
        GROUP BY key HAVING n > 0"""
    return sql, params


def _row(
    key: str, cost: Decimal, calls: int, tin: int, tout: int, unpriced: int, failed: int, cached: int
) -> BreakdownRow:
    return BreakdownRow(
        key,
        Decimal(cost),
        int(calls),
        int(tin),
        int(tout),
        int(unpriced),
        int(failed),
        int(cached),
    )


def cost_breakdown(
    client: Client, tenant: str, group_by: str, start: datetime, end: datetime, filters: dict[str, str] | None = None
) -> list[BreakdownRow]:
    """LLM cost per ``group_by`` key for spans starting in [start, end), most expensive first.

    Rollups where they are clean, raw spans (FINAL) elsewhere: a retry never counts twice.
    """
    grouped, params = _grouped(client, tenant, group_by, start, end, filters)
    sql = f"{grouped} ORDER BY cost DESC, key {_FINAL}"
    return [_row(*r) for r in client.query(sql, parameters=params).result_rows]


@dataclass(frozen=True, slots=True)
class Breakdown:
    rows: list[BreakdownRow]
    rest: BreakdownRow | None
    """The groups beyond the limit summed (``key`` is empty), or None when none are left out."""
    rest_groups: int


_METRICS = ("cost", "n", "tin", "tout", "unpriced", "failed", "cached")
_SUMMED = fields(BreakdownRow)[1:]  # BreakdownRow's metrics, in _METRICS order


def cost_breakdown_top(
    client: Client,
    tenant: str,
    group_by: str,
    start: datetime,
    end: datetime,
    filters: dict[str, str] | None,
    limit: int,
) -> Breakdown:
    """Like ``cost_breakdown``, but at most ``limit`` rows; the others come back summed as one, so
    200k customers never become 200k Python rows while every total stays exact. One scan.

    The top rows come from a partial sort (ORDER BY ... LIMIT), and every row carries the totals of
    all groups (window sums over no order, so nothing is sorted whole); the rest is the totals minus
    the top rows. Ranking every group instead (row_number) sorted all of them: 204 ms against 92 ms
    for 500,000 sessions, measured."""
    grouped, params = _grouped(client, tenant, group_by, start, end, filters)
    params["limit"] = limit
    totals = ", ".join(f"sum({m}) OVER ()" for m in _METRICS)
    found = client.query(
        f"SELECT key, {', '.join(_METRICS)}, {totals}, count() OVER () FROM ({grouped}) "
        f"ORDER BY cost DESC, key LIMIT {{limit:UInt32}} {_FINAL}",
        parameters=params,
    ).result_rows
    rows = [_row(*r[:8]) for r in found]
    groups = int(found[0][-1]) if found else 0
    if groups <= len(rows):
        return Breakdown(rows, None, 0)
    whole = _row("", *found[0][8:15])
    rest = BreakdownRow("", *(getattr(whole, f.name) - sum(getattr(r, f.name) for r in rows) for f in _SUMMED))
    return Breakdown(rows, rest, groups - len(rows))


def cost_tops(
    client: Client, tenant: str, dimensions: list[str], start: datetime, end: datetime, limit: int
) -> dict[str, list[BreakdownRow]]:
    """The ``limit`` most expensive keys of each dimension, in one scan (the summary's top lists);
    a dimension's ``untracked`` row comes too, ranked or not, for the untracked share."""
    source, params = dims_source(client, tenant, start, end, dimensions)
    # each dimension's own key expression, applied to the value column
    key = (
        "multiIf("
        + ", ".join(f"dim = '{d}', {GROUP_BY_EXPRESSIONS[d].replace(_COLUMN[d], 'value')}" for d in dimensions)
        + ", value)"
    )
    sql = f"""
        SELECT * FROM (
            SELECT dim, {key} AS key, sum(cost_usd) AS cost, sum(calls) AS n, sum(input_tokens), sum(output_tokens),
                   sum(unpriced_calls), sum(failed_calls), sum(cached_tokens),
                   row_number() OVER (PARTITION BY dim ORDER BY cost DESC, key) AS rank
            FROM {source} GROUP BY dim, key HAVING n > 0)
        WHERE rank <= {int(limit)} OR key = '{UNTRACKED}'
        ORDER BY dim, rank {_FINAL}"""
    tops: dict[str, list[BreakdownRow]] = {dim: [] for dim in dimensions}
    for dim, key, cost, calls, tin, tout, unpriced, failed, cached, _ in client.query(
        sql, parameters=params
    ).result_rows:
        tops[dim].append(
            BreakdownRow(key, Decimal(cost), int(calls), int(tin), int(tout), int(unpriced), int(failed), int(cached))
        )
    return tops


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
        {_FINAL}
    """
    rows = client.query(sql, parameters={"tenant": tenant, "start": start, "end": end}).result_rows
    return [UnpricedModel(p, m, int(n), int(tin), int(tout), first, last) for p, m, n, tin, tout, first, last in rows]


_INTERVALS = {"hour": "toStartOfHour(start_time)", "day": "toStartOfDay(start_time)"}


# Not a value any label can hold (labels are printable text): the key of the summed remainder.
REST_KEY = "\x00rest"


def cost_timeseries(
    client: Client,
    tenant: str,
    interval: str,
    group_by: str | None,
    start: datetime,
    end: datetime,
    filters: dict[str, str] | None = None,
    limit: int | None = None,
) -> list[tuple[datetime, str, Decimal, int]]:
    """(bucket start, key, cost, calls) for buckets that have LLM calls; the caller zero-fills.

    With ``limit``, only the ``limit`` costliest keys keep their own series; every other key's
    rows come summed under ``REST_KEY``, so the answer stays exact and its size bounded."""
    bucket = _INTERVALS[interval]
    key = GROUP_BY_EXPRESSIONS[group_by] if group_by else "'total'"
    where, values = _filters(filters)
    source, params = cost_source(
        client, tenant, start, end, dim=group_by, filtered=bool(where), hourly=interval == "hour" or group_by == "hour"
    )
    params.update(values)
    condition = "WHERE " + " AND ".join(where) if where else ""
    shown = key
    if limit is not None and group_by:
        params["limit"] = limit
        shown = (
            f"if({key} IN (SELECT k FROM (SELECT {key} AS k, sum(cost_usd) AS c, sum(calls) AS n FROM {source} "
            f"{condition} GROUP BY k HAVING n > 0 ORDER BY c DESC, k LIMIT {{limit:UInt32}})), {key}, "
            f"{{rest:String}})"
        )
        params["rest"] = REST_KEY
    sql = f"""
        SELECT {bucket} AS bucket, {shown} AS key, sum(cost_usd), sum(calls) AS n
        FROM {source}
        {condition}
        GROUP BY bucket, key HAVING n > 0
        ORDER BY bucket, key
        {_FINAL}
    """
    rows = client.query(sql, parameters=params).result_rows
    return [(b, k, Decimal(c), int(n)) for b, k, c, n in rows]


def timeseries_groups(
    client: Client, tenant: str, group_by: str, start: datetime, end: datetime, filters: dict[str, str] | None = None
) -> int:
    """How many keys of ``group_by`` had LLM calls in [start, end): the series a full answer holds."""
    where, values = _filters(filters)
    source, params = cost_source(client, tenant, start, end, dim=group_by, filtered=bool(where))
    params.update(values)
    key = GROUP_BY_EXPRESSIONS[group_by]
    sql = (
        f"SELECT count() FROM (SELECT {key} AS k, sum(calls) AS n FROM {source} "
        f"{'WHERE ' + ' AND '.join(where) if where else ''} GROUP BY k HAVING n > 0) {_FINAL}"
    )
    return int(client.query(sql, parameters=params).result_rows[0][0])


def _filters(filters: dict[str, str] | None) -> tuple[list[str], dict[str, str]]:
    """SQL conditions on the grouped values (so 'untracked' / 'unknown' filter too) and their parameters."""
    where = []
    for name in sorted(filters or {}):
        if name not in FILTERS:
            raise ValueError(f"cannot filter on {name!r}")
        where.append(f"{GROUP_BY_EXPRESSIONS[name]} = {{f_{name}:String}}")
    return where, {f"f_{name}": value for name, value in (filters or {}).items()}


def cost_totals(client: Client, tenant: str, windows: list[tuple[datetime, datetime]]) -> list[tuple[Decimal, int]]:
    """(cost, LLM calls) for each [start, end) window, in one scan."""
    parts = []
    lo, hi = min(w[0] for w in windows), max(w[1] for w in windows)
    source, params = cost_source(client, tenant, lo, hi, cuts=[t for w in windows for t in w])
    for i, (start, end) in enumerate(windows):
        cond = f"start_time >= {{s{i}:DateTime64(9, 'UTC')}} AND start_time < {{e{i}:DateTime64(9, 'UTC')}}"
        parts += [f"sumIf(cost_usd, {cond})", f"sumIf(calls, {cond})"]
        params[f"s{i}"], params[f"e{i}"] = start, end
    row = client.query(f"SELECT {', '.join(parts)} FROM {source} {_FINAL}", parameters=params).result_rows[0]
    return [(Decimal(row[2 * i]), int(row[2 * i + 1])) for i in range(len(windows))]
