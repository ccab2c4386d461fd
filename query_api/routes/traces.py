from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, HTTPException, Query

from llmobserve.storage import RunRow, TraceSpan

from .._timerange import resolve_range
from ..deps import ReadPrincipal, StoreDep
from ..models import RunPublic, RunsPage, TraceNode, TraceTree

router = APIRouter(prefix="/api/v1/traces", tags=["traces"])

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def _tree(spans: list[TraceSpan]) -> tuple[list[TraceNode], Decimal]:
    """Nest spans under their parents; a span whose parent is not stored (yet) becomes a root."""
    ids = {s.span_id for s in spans}
    children: dict[str, list[TraceSpan]] = {}
    roots: list[TraceSpan] = []
    for s in spans:
        if s.parent_span_id and s.parent_span_id in ids and s.parent_span_id != s.span_id:
            children.setdefault(s.parent_span_id, []).append(s)
        else:
            roots.append(s)

    def build(s: TraceSpan, seen: frozenset[str]) -> tuple[TraceNode, Decimal]:
        nested = [build(c, seen | {s.span_id}) for c in children.get(s.span_id, []) if c.span_id not in seen]
        subtree = s.cost_usd + sum((cost for _, cost in nested), Decimal(0))
        node = TraceNode(
            span_id=s.span_id, parent_span_id=s.parent_span_id, name=s.name, kind=s.kind, service=s.service,
            start_time=s.start_time, end_time=s.end_time, duration_ms=s.duration_ns / 1e6, status=s.status_code,
            status_message=s.status_message, operation=s.operation, provider=s.provider, model=s.model,
            agent=s.agent, customer=s.customer, section_path=s.section_path, tool=s.tool, is_llm=s.is_llm,
            input_tokens=s.input_tokens, output_tokens=s.output_tokens, cached_tokens=s.cache_read_tokens,
            cost_usd=float(s.cost_usd), subtree_cost_usd=float(subtree), unpriced=s.is_llm and not s.priced,
            children=[n for n, _ in nested],
        )
        return node, subtree

    built = [build(r, frozenset()) for r in roots]
    return [n for n, _ in built], sum((cost for _, cost in built), Decimal(0))


def _encode_cursor(order: str, row: RunRow) -> str:
    value = row.start_time.isoformat() if order == "time" else str(row.cost_usd)
    return base64.urlsafe_b64encode(json.dumps([order, value, row.trace_id]).encode()).decode()


def _decode_cursor(order: str, cursor: str) -> tuple[object, str]:
    try:
        kind, value, trace_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if kind != order or not _TRACE_ID.match(trace_id):
            raise ValueError
        return (datetime.fromisoformat(value) if order == "time" else Decimal(value)), trace_id
    except (ValueError, TypeError, binascii.Error):
        raise HTTPException(400, "invalid cursor: pass next_cursor from the previous page, with the same sort") from None


@router.get("", response_model=RunsPage, summary="Runs (traces), newest or costliest first, cursor-paginated")
def list_runs(
    principal: ReadPrincipal,
    store: StoreDep,
    sort: Literal["time", "cost"] = Query("time"),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None),
    start: str | None = Query(None, alias="from", description="ISO 8601 start (inclusive); default to - 30 days"),
    end: str | None = Query(None, alias="to", description="ISO 8601 end (exclusive); default now"),
    service: str | None = Query(None),
    customer: str | None = Query(None, description="runs with a span for this customer"),
    agent: str | None = Query(None, description="runs with a span of this agent"),
) -> RunsPage:
    frm, to = resolve_range(start, end)
    after = _decode_cursor(sort, cursor) if cursor else None
    filters = {k: v for k, v in {"service": service, "customer": customer, "agent": agent}.items() if v is not None}
    rows = store.list_runs(principal.tenant, frm, to, sort, limit + 1, after, filters)
    page = rows[:limit]
    return RunsPage(
        data=[RunPublic(trace_id=r.trace_id, start_time=r.start_time,
                        duration_ms=max(0.0, (r.end_time - r.start_time).total_seconds() * 1000),
                        root_name=r.root_name, service=r.service, cost_usd=float(r.cost_usd), llm_calls=r.llm_calls,
                        errors=r.errors, top_section=r.top_section) for r in page],
        next_cursor=_encode_cursor(sort, page[-1]) if len(rows) > limit else None,
    )


@router.get("/{trace_id}", response_model=TraceTree, summary="One run as a tree of spans with cost rolled up",
            responses={404: {"description": "No such trace for this tenant"}})
def trace_tree(trace_id: str, principal: ReadPrincipal, store: StoreDep) -> TraceTree:
    trace_id = trace_id.lower()
    if not _TRACE_ID.match(trace_id):
        raise HTTPException(400, "trace_id must be 32 hex characters")
    spans = store.trace_spans(principal.tenant, trace_id)
    if not spans:
        raise HTTPException(404, f"no trace {trace_id}")  # the same answer for another tenant's trace
    roots, total = _tree(spans)
    return TraceTree(trace_id=trace_id, spans=len(spans), total_cost_usd=float(total), roots=roots)
