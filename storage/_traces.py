"""One trace's spans, for the trace tree. Reads filter on the tenant, so another tenant's trace
id finds nothing, exactly like an unknown one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from clickhouse_connect.driver.client import Client

from ._rollups import HOUR, RUN_SUMMARY, tenant_state
from ._spans import FINAL_SETTINGS

__all__ = ["RunRow", "TraceSpan", "list_runs", "trace_spans"]


@dataclass(frozen=True, slots=True)
class TraceSpan:
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    service: str
    start_time: datetime
    end_time: datetime
    duration_ns: int
    status_code: str
    status_message: str
    operation: str
    provider: str
    model: str
    agent: str
    customer: str
    session: str
    section_path: str
    tool: str
    is_llm: bool
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cost_usd: Decimal
    priced: bool
    billable: bool
    duplicate_of: str = ""
    """``<trace>/<span>`` of the report in another trace that is charged for this span's call ("" if none)."""


# the stored columns, then what the last fields read from the attributes
_FIELDS = ", ".join(list(TraceSpan.__dataclass_fields__)[:-1]) + ", span_attributes['llmobserve.duplicate_of']"


def trace_spans(client: Client, tenant: str, trace_id: str) -> list[TraceSpan]:
    # The bloom filter index on trace_id skips the other granules: ~8 ms at 10M spans, measured.
    rows = client.query(
        f"SELECT {_FIELDS} FROM spans FINAL WHERE tenant = {{t:String}} AND trace_id = {{id:String}} "
        f"ORDER BY start_time, span_id {FINAL_SETTINGS}",
        parameters={"t": tenant, "id": trace_id},
    ).result_rows
    return [TraceSpan(*row) for row in rows]


def trace_attributes(client: Client, tenant: str, trace_id: str) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """span id -> (span attributes, resource attributes) as stored (prompts only if they were captured)."""
    rows = client.query(
        f"SELECT span_id, span_attributes, resource_attributes FROM spans FINAL WHERE tenant = {{t:String}} "
        f"AND trace_id = {{id:String}} {FINAL_SETTINGS}",
        parameters={"t": tenant, "id": trace_id},
    ).result_rows
    return {span_id: (dict(attrs), dict(resource)) for span_id, attrs, resource in rows}


@dataclass(frozen=True, slots=True)
class RunRow:
    trace_id: str
    start_time: datetime
    end_time: datetime
    root_name: str
    service: str
    cost_usd: Decimal
    llm_calls: int
    errors: int
    top_section: str


_RUN_FILTERS = {"service": "services", "customer": "customers", "agent": "agents", "session": "sessions"}
_COLUMNS = "trace_id, run_start, run_end, root_name, run_service, cost, llm_calls, errors, top_section"


def list_runs(
    client: Client,
    tenant: str,
    start: datetime,
    end: datetime,
    order: str,
    limit: int,
    after: tuple[object, str] | None,
    filters: dict[str, str],
) -> list[RunRow]:
    """Runs (traces) starting in [start, end); keyset-paginated on (sort value, trace id).

    ``after`` is the last row of the previous page as (sort value, trace id). Runs come from the
    ``runs`` summaries, except runs with spans in hours written since their last refresh: those
    are summed from the raw spans. A summary row superseded by a newer one is skipped."""
    dirty = _dirty_hours(client, tenant, start - timedelta(days=1))
    fetch = limit * 2 + 10
    while True:
        rows = client.query(*_runs_sql(tenant, start, end, order, fetch, after, filters, dirty)).result_rows
        stale = _stale(client, tenant, [(r[0], r[-1]) for r in rows if r[-1]])
        kept = [RunRow(*r[:-1]) for r in rows if (r[0], r[-1]) not in stale]
        if len(kept) >= limit or len(rows) < fetch:
            return kept[:limit]
        fetch *= 4


def _dirty_hours(client: Client, tenant: str, since: datetime) -> list[datetime]:
    return [
        s.bucket
        for s in tenant_state(client, tenant, HOUR, since, datetime(2200, 1, 1, tzinfo=UTC))
        if s.dirty or not s.version
    ]


def _stale(client: Client, tenant: str, rows: list[tuple[str, int]]) -> set[tuple[str, int]]:
    if not rows:
        return set()
    found = client.query(
        "SELECT trace_id, max(version) FROM runs WHERE tenant = {t:String} AND trace_id IN {ids:Array(String)} "
        "GROUP BY trace_id",
        parameters={"t": tenant, "ids": [trace_id for trace_id, _ in rows]},
    ).result_rows
    latest: dict[str, int] = {trace_id: version for trace_id, version in found}
    return {(trace_id, version) for trace_id, version in rows if latest.get(trace_id, version) != version}


def _runs_sql(
    tenant: str,
    start: datetime,
    end: datetime,
    order: str,
    fetch: int,
    after: tuple[object, str] | None,
    filters: dict[str, str],
    dirty: list[datetime],
) -> tuple[str, dict[str, object]]:
    params: dict[str, object] = {"t": tenant, "s": start, "e": end, "n": fetch, "dirty": dirty}
    sort = "run_start" if order == "time" else "cost"
    sort_type = "DateTime64(9, 'UTC')" if order == "time" else "Decimal(38, 12)"
    summary_where, raw_having = [], ["run_start >= {s:DateTime64(9, 'UTC')}", "run_start < {e:DateTime64(9, 'UTC')}"]
    for name, value in sorted(filters.items()):
        summary_where.append(f"has({_RUN_FILTERS[name]}, {{f_{name}:String}})")
        raw_having.append(f"countIf({name} = {{f_{name}:String}}) > 0")  # the filter names are span columns
        params[f"f_{name}"] = value
    if after is not None:
        keyset = f"({sort}, trace_id) < ({{a_sort:{sort_type}}}, {{a_id:String}})"
        summary_where.append(keyset.replace("run_start", "start_time").replace("cost,", "cost_usd,"))
        raw_having.append(keyset)
        params["a_sort"], params["a_id"] = after
    in_dirty = "toStartOfHour(start_time) IN {dirty:Array(DateTime('UTC'))}"
    dirty_traces = f"(SELECT DISTINCT trace_id FROM spans WHERE tenant = {{t:String}} AND {in_dirty})"
    summaries = f"""
        SELECT trace_id, start_time AS run_start, end_time AS run_end, root_name, service AS run_service,
               cost_usd AS cost, llm_calls, errors, top_section, version
        FROM runs
        WHERE tenant = {{t:String}} AND start_time >= {{s:DateTime64(9, 'UTC')}} AND start_time < {{e:DateTime64(9, 'UTC')}}
          {"".join(" AND " + w for w in summary_where)}
          {f"AND trace_id NOT IN {dirty_traces}" if dirty else ""}
        ORDER BY {sort.replace("run_start", "start_time").replace("cost", "cost_usd")} DESC, trace_id DESC
        LIMIT {{n:UInt32}}"""
    raw = f"""
        SELECT trace_id, {RUN_SUMMARY}, toUInt64(0) AS version
        FROM spans FINAL
        WHERE tenant = {{t:String}} AND trace_id IN {dirty_traces}
          AND (toStartOfHour(start_time) IN (SELECT hour FROM trace_index WHERE tenant = {{t:String}} AND trace_id IN {dirty_traces})
               OR {in_dirty})
        GROUP BY trace_id
        HAVING {" AND ".join(raw_having)}"""
    union = summaries + (" UNION ALL " + raw if dirty else "")
    sql = (
        f"SELECT {_COLUMNS}, version FROM ({union}) ORDER BY {sort} DESC, trace_id DESC LIMIT {{n:UInt32}} "
        + FINAL_SETTINGS
    )
    return sql, params
