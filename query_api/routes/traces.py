from __future__ import annotations

import re
from typing import Literal

from fastapi import APIRouter, HTTPException, Query

from .._cursor import TRACE_ID, decode_cursor, encode_cursor
from .._timerange import resolve_range
from .._trace_tree import MAX_DEPTH, build_tree
from ..deps import ReadPrincipal, StoreDep
from ..models import RunPublic, RunsPage, TraceTree

router = APIRouter(prefix="/api/v1/traces", tags=["traces"])

_SPAN_ID = re.compile(r"[0-9a-f]{16}")


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
    session: str | None = Query(None, description="runs with a span in this session / conversation"),
) -> RunsPage:
    frm, to = resolve_range(start, end)
    after = decode_cursor(sort, cursor) if cursor else None
    filters = {k: v for k, v in {"service": service, "customer": customer, "agent": agent,
                                 "session": session}.items() if v is not None}
    rows = store.list_runs(principal.tenant, frm, to, sort, limit + 1, after, filters)
    page = rows[:limit]
    return RunsPage(
        data=[RunPublic(trace_id=r.trace_id, start_time=r.start_time,
                        duration_ms=max(0.0, (r.end_time - r.start_time).total_seconds() * 1000),
                        root_name=r.root_name, service=r.service, cost_usd=float(r.cost_usd), llm_calls=r.llm_calls,
                        errors=r.errors, top_section=r.top_section) for r in page],
        next_cursor=encode_cursor(sort, page[-1]) if len(rows) > limit else None,
    )


@router.get("/{trace_id}", response_model=TraceTree, summary="One run as a tree of spans with cost rolled up",
            responses={404: {"description": "No such trace for this tenant"}})
def trace_tree(
    trace_id: str,
    principal: ReadPrincipal,
    store: StoreDep,
    root: str | None = Query(None, description=f"a span id: only its subtree, to read below the {MAX_DEPTH} "
                                               "levels a tree nests (see `children_omitted`)"),
) -> TraceTree:
    trace_id = trace_id.lower()
    if not TRACE_ID.fullmatch(trace_id):
        raise HTTPException(400, "trace_id must be 32 hex characters")
    if root is not None and not _SPAN_ID.fullmatch(root := root.lower()):
        raise HTTPException(400, "'root' must be a span id: 16 hex characters")
    spans = store.trace_spans(principal.tenant, trace_id)
    if not spans:
        raise HTTPException(404, f"no trace {trace_id}")  # the same answer for another tenant's trace
    start = None
    if root is not None:
        start = next((i for i, s in enumerate(spans) if s.span_id == root), None)
        if start is None:
            raise HTTPException(404, f"no span {root} in trace {trace_id}")
    tree = build_tree(spans, start)
    return TraceTree(trace_id=trace_id, spans=len(spans), total_cost_usd=float(tree.total), roots=tree.roots,
                     max_depth=MAX_DEPTH, truncated_depth=tree.truncated_depth)
