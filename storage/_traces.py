"""One trace's spans, for the trace tree. Reads filter on the tenant, so another tenant's trace
id finds nothing, exactly like an unknown one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from clickhouse_connect.driver.client import Client

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
    section_path: str
    tool: str
    is_llm: bool
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cost_usd: Decimal
    priced: bool
    billable: bool


_FIELDS = ", ".join(TraceSpan.__dataclass_fields__)


def trace_spans(client: Client, tenant: str, trace_id: str) -> list[TraceSpan]:
    rows = client.query(
        f"SELECT {_FIELDS} FROM spans FINAL WHERE tenant = {{t:String}} AND trace_id = {{id:String}} "
        "ORDER BY start_time, span_id",
        parameters={"t": tenant, "id": trace_id},
    ).result_rows
    return [TraceSpan(*row) for row in rows]


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


_RUN_FILTERS = {"service": "service", "customer": "customer", "agent": "agent"}


def list_runs(client: Client, tenant: str, start: datetime, end: datetime, order: str, limit: int,
              after: tuple[object, str] | None, filters: dict[str, str]) -> list[RunRow]:
    """Runs (traces) with spans starting in [start, end); keyset-paginated on (sort value, trace id).

    ``after`` is the last row of the previous page as (sort value, trace id)."""
    params: dict[str, object] = {"t": tenant, "s": start, "e": end, "limit": limit}
    having = []
    for name, value in sorted(filters.items()):
        having.append(f"countIf({_RUN_FILTERS[name]} = {{f_{name}:String}}) > 0")
        params[f"f_{name}"] = value
    sort = "run_start" if order == "time" else "cost"
    sort_type = "DateTime64(9, 'UTC')" if order == "time" else "Decimal(38, 12)"
    if after is not None:
        having.append(f"({sort}, trace_id) < ({{a_sort:{sort_type}}}, {{a_id:String}})")
        params["a_sort"], params["a_id"] = after
    sql = f"""
        SELECT trace_id, min(start_time) AS run_start, max(end_time), argMin(name, (parent_span_id != '', start_time)),
               argMin(service, start_time), sum(cost_usd) AS cost, countIf(is_llm), countIf(status_code = 'error'),
               argMax(section_path, cost_usd)
        FROM spans FINAL
        WHERE tenant = {{t:String}} AND start_time >= {{s:DateTime64(9, 'UTC')}} AND start_time < {{e:DateTime64(9, 'UTC')}}
        GROUP BY trace_id
        {"HAVING " + " AND ".join(having) if having else ""}
        ORDER BY {sort} DESC, trace_id DESC
        LIMIT {{limit:UInt32}}
        SETTINGS do_not_merge_across_partitions_select_final = 1
    """
    return [RunRow(*row) for row in client.query(sql, parameters=params).result_rows]
