"""Runs (traces): the list, newest or costliest first with a cursor, and one run as a tree."""

from __future__ import annotations

import re
from datetime import datetime

from llmobserve.storage import Store

from ..schemas.traces import RunPublic, RunsPage, TraceTree
from .cursor import TRACE_ID, decode_cursor, encode_cursor
from .errors import BadRequest, NotFound
from .trace_tree import MAX_DEPTH, build_tree

__all__ = ["list_runs", "trace_tree"]

_SPAN_ID = re.compile(r"[0-9a-f]{16}")


def list_runs(
    store: Store,
    tenant: str,
    sort: str,
    limit: int,
    cursor: str | None,
    frm: datetime,
    to: datetime,
    filters: dict[str, str],
) -> RunsPage:
    after = decode_cursor(sort, cursor) if cursor else None
    rows = store.list_runs(tenant, frm, to, sort, limit + 1, after, filters)
    page = rows[:limit]
    return RunsPage(
        data=[
            RunPublic(
                trace_id=r.trace_id,
                start_time=r.start_time,
                duration_ms=max(0.0, (r.end_time - r.start_time).total_seconds() * 1000),
                root_name=r.root_name,
                service=r.service,
                cost_usd=float(r.cost_usd),
                llm_calls=r.llm_calls,
                errors=r.errors,
                top_section=r.top_section,
            )
            for r in page
        ],
        next_cursor=encode_cursor(sort, page[-1]) if len(rows) > limit else None,
    )


def trace_tree(store: Store, tenant: str, trace_id: str, root: str | None) -> TraceTree:
    trace_id = trace_id.lower()
    if not TRACE_ID.fullmatch(trace_id):
        raise BadRequest("trace_id must be 32 hex characters")
    if root is not None and not _SPAN_ID.fullmatch(root := root.lower()):
        raise BadRequest("'root' must be a span id: 16 hex characters")
    spans = store.trace_spans(tenant, trace_id)
    if not spans:
        raise NotFound(f"no trace {trace_id}")  # the same answer for another tenant's trace
    start = None
    if root is not None:
        start = next((i for i, s in enumerate(spans) if s.span_id == root), None)
        if start is None:
            raise NotFound(f"no span {root} in trace {trace_id}")
    tree = build_tree(spans, start)
    return TraceTree(
        trace_id=trace_id,
        spans=len(spans),
        total_cost_usd=float(tree.total),
        roots=tree.roots,
        max_depth=MAX_DEPTH,
        truncated_depth=tree.truncated_depth,
    )
