"""Models, Agents, Customers: one row per value with its spend and a 14-day trend; each opens Costs
filtered to it. Two reads per page whatever the row count: the breakdown and one timeseries."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from llmobserve.query_api.services.timerange import EARLIEST
from llmobserve.storage import REST_KEY

from ._costs import DEFAULT_RANGE, PAGE_ROWS, RANGES, BadQuery, costs_link, total, window
from ._web import Page, PageDep, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

SPARK_DAYS = 14


def _sparklines(p: Page, dim: str, end: datetime) -> dict[str, list[float]]:
    """Each key's cost per UTC day for the 14 days up to ``end``: the costliest PAGE_ROWS keys of those
    days, the others summed under REST_KEY."""
    last = (end - timedelta(microseconds=1)).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    days = [last - timedelta(days=SPARK_DAYS - 1 - i) for i in range(SPARK_DAYS)]
    index = {d: i for i, d in enumerate(days)}
    lines: dict[str, list[float]] = {}
    start = max(EARLIEST, days[0].replace(tzinfo=end.tzinfo))  # a range ending in 1970 has fewer days
    for bucket, key, cost, _ in p.store.cost_timeseries(p.tenant, "day", dim, start, end, None, PAGE_ROWS):
        lines.setdefault(key, [0.0] * SPARK_DAYS)[index[bucket.replace(tzinfo=None)]] += float(cost)
    return lines


def _dimension(request: Request, p: Page, dim: str, title: str, href: str) -> HTMLResponse:
    params = request.query_params
    base = {
        **p.context(title, href),
        "dim": dim,
        "href": href,
        "ranges": RANGES,
        "default_range": DEFAULT_RANGE,
        "spark_days": SPARK_DAYS,
        "form": {name: params.get(name, "") for name in ("range", "from", "to")},
    }
    try:
        win = window(params)
    except BadQuery as exc:
        return render(request, "dimension.html", status_code=400, **base, error=str(exc))
    found = p.store.cost_breakdown_top(p.tenant, dim, win.start, win.end, None, PAGE_ROWS)
    lines = _sparklines(p, dim, win.end) if found.rows else {}
    # without a rest series every key of the 14 days is in the answer: a missing one spent nothing
    flat = None if REST_KEY in lines else [0.0] * SPARK_DAYS
    return render(
        request,
        "dimension.html",
        **base,
        error=None,
        win=win,
        rows=found.rows,
        rest=found.rest,
        rest_groups=found.rest_groups,
        total=total(found.rows + ([found.rest] if found.rest else [])),
        sparks={r.key: lines.get(r.key, flat) for r in found.rows},
        links={r.key: costs_link(group_by=dim, **{dim: r.key}, **win.query()) for r in found.rows},
    )


@router.get("/models", response_class=HTMLResponse)
def models(request: Request, p: PageDep) -> HTMLResponse:
    return _dimension(request, p, "model", "Models", "/models")


@router.get("/agents", response_class=HTMLResponse)
def agents(request: Request, p: PageDep) -> HTMLResponse:
    return _dimension(request, p, "agent", "Agents", "/agents")


@router.get("/customers", response_class=HTMLResponse)
def customers(request: Request, p: PageDep) -> HTMLResponse:
    return _dimension(request, p, "customer", "Customers", "/customers")
