"""Stored span rows for storage tests: one call per span, defaults for everything else."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from llmobserve.storage import SPAN_COLUMNS

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday, midnight
DEFAULTS = {
    "tenant": "acme",
    "parent_span_id": "",
    "name": "chat gpt-4o",
    "kind": "CLIENT",
    "service": "svc",
    "scope": "t",
    "duration_ns": 1_000_000,
    "status_code": "unset",
    "status_message": "",
    "operation": "chat",
    "provider": "openai",
    "request_model": "gpt-4o",
    "response_model": "gpt-4o",
    "model": "gpt-4o",
    "agent": "",
    "section_path": "",
    "customer": "",
    "session": "",
    "tool": "",
    "is_llm": True,
    "input_tokens": 100,
    "output_tokens": 10,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "reasoning_tokens": 0,
    "cost_input_usd": Decimal(0),
    "cost_output_usd": Decimal(0),
    "cost_cache_read_usd": Decimal(0),
    "cost_cache_write_usd": Decimal(0),
    "price_source": "test",
    "priced": True,
    "billable": True,
    "is_batch": False,
    "http_status": 200,
    "error_type": "",
    "span_attributes": [],
    "resource_attributes": [],
    "events": "",
    "links": "",
    "ingest_time": 0,
    "version": 1,
}


def span(trace: str, span_id: str, at: datetime, cost: str, **fields: object) -> tuple[object, ...]:
    ns = int(at.timestamp() * 1e9)
    values = {
        **DEFAULTS,
        "trace_id": trace.ljust(32, "0"),
        "span_id": span_id.ljust(16, "0"),
        "start_time": ns,
        "end_time": ns + 1_000_000,
        "cost_usd": Decimal(cost),
        **fields,
    }
    return tuple(values[c] for c in SPAN_COLUMNS)
