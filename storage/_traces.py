"""One trace's spans, for the trace tree. Reads filter on the tenant, so another tenant's trace
id finds nothing, exactly like an unknown one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from clickhouse_connect.driver.client import Client

__all__ = ["TraceSpan", "trace_spans"]


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
