"""Runs: the list (``GET /api/v1/traces``'s read and cursor) and one run as a collapsible span tree
with a waterfall (``GET /api/v1/traces/{id}``'s tree, built by the same code)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from llmobserve.query_api.services.cursor import TRACE_ID, decode_cursor, encode_cursor
from llmobserve.query_api.services.timerange import resolve_range
from llmobserve.query_api.services.trace_tree import MAX_DEPTH, build_tree
from llmobserve.storage import TraceSpan

from ._web import PageDep, render

router = APIRouter(include_in_schema=False)

FILTERS = ("service", "customer", "agent", "session")
RANGES = {1: "Last 24 hours", 7: "Last 7 days", 30: "Last 30 days", 90: "Last 90 days", 365: "Last year"}


def _whole(raw: str | None, default: int, low: int, high: int) -> int:
    """A number from the address bar: a malformed one falls back to the default (a page, not a 422)."""
    try:
        return min(high, max(low, int(raw))) if raw else default
    except ValueError:
        return default


def duration(ms: float) -> str:
    if ms == 0:
        return "0"
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    return f"{int(ms // 60_000)} min {ms % 60_000 / 1000:.0f} s"


@router.get("/runs", response_class=HTMLResponse)
def runs(
    request: Request,
    p: PageDep,
    sort: str = "time",
    cursor: str | None = None,
    limit: str | None = None,
    days: str | None = None,
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
    service: str = "",
    customer: str = "",
    agent: str = "",
    session: str = "",
) -> HTMLResponse:
    if sort not in ("time", "cost"):
        raise HTTPException(422, "sort must be 'time' (newest first) or 'cost' (costliest first)")
    size, window = _whole(limit, 50, 1, 500), _whole(days, 30, 1, 3650)
    if start or end:  # the API's from/to, for links from other pages
        frm, to = resolve_range(start or None, end or None)
    else:
        to = datetime.now(UTC)
        frm = to - timedelta(days=window)
    filters = {k: v.strip() for k, v in zip(FILTERS, (service, customer, agent, session)) if v.strip()}
    after = decode_cursor(sort, cursor) if cursor else None
    rows = p.store.list_runs(p.tenant, frm, to, sort, size + 1, after, filters)
    shown = rows[:size]
    kept = {"days": days, "from": start, "to": end, "limit": limit, **filters}
    kept = {k: v for k, v in kept.items() if v}

    def link(**changes: str | None) -> str:
        query = {k: v for k, v in {**kept, "sort": sort, **changes}.items() if v}
        return "/runs?" + urlencode(query)

    return render(
        request,
        "runs.html",
        **p.context("Runs", "/runs"),
        runs=[(r, max(0.0, (r.end_time - r.start_time).total_seconds() * 1000)) for r in shown],
        sort=sort,
        filters=filters,
        days=window if not (start or end) else None,
        ranges=RANGES,
        frm=frm,
        to=to,
        paged=cursor is not None,
        link=link,
        duration=duration,
        next=link(cursor=encode_cursor(sort, shown[-1])) if len(rows) > size else None,
        first=link(cursor=None),
    )


def _not_found(trace_id: str) -> HTTPException:
    # Unknown, malformed and another tenant's id: one answer, so a page never tells them apart.
    return HTTPException(404, f"There is no run {trace_id[:64]} in this tenant.")


def _bars(spans: list[TraceSpan]) -> tuple[dict[str, tuple[float, float]], datetime, float]:
    """Each span's waterfall bar as (left %, width %) of the run, the run's start and its length in ms."""
    first = min(s.start_time for s in spans)
    length = max((max(s.end_time for s in spans) - first).total_seconds(), 1e-9)
    bars = {}
    for s in spans:
        left = min(100.0, max(0.0, (s.start_time - first).total_seconds() / length * 100))
        bars[s.span_id] = (round(left, 3), round(max(0.4, min(100.0 - left, s.duration_ns / 1e9 / length * 100)), 3))
    return bars, first, length * 1000


@router.get("/runs/{trace_id}", response_class=HTMLResponse)
def run(request: Request, trace_id: str, p: PageDep, root: str | None = None) -> HTMLResponse:
    wanted = trace_id.lower()
    spans = p.store.trace_spans(p.tenant, wanted) if TRACE_ID.fullmatch(wanted) else []
    if not spans:
        raise _not_found(trace_id)
    start = None
    if root:
        start = next((i for i, s in enumerate(spans) if s.span_id == root.lower()), None)
        if start is None:
            raise HTTPException(404, f"There is no span {root[:64]} in run {wanted}.")
    tree = build_tree(spans, start)
    bars, first, length_ms = _bars(spans)
    return render(
        request,
        "run.html",
        **p.context(f"Run {wanted[:8]}…", "/runs"),
        trace_id=wanted,
        tree=tree,
        spans=len(spans),
        bars=bars,
        start=first,
        length_ms=length_ms,
        duration=duration,
        root=start is not None,
        max_depth=MAX_DEPTH,
        llm_calls=sum(s.is_llm for s in spans),
        errors=sum(s.status_code == "error" for s in spans),
        total=Decimal(tree.total),
        attributes=p.store.trace_attributes(p.tenant, wanted),
    )
