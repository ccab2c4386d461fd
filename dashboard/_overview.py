"""The overview (spend at a glance), and Getting started while a tenant has no spans yet."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from llmobserve.storage import REST_KEY

from ._web import Page, PageDep, render

router = APIRouter(include_in_schema=False)


def _change(now: Decimal, before: Decimal) -> float | None:
    return None if before == 0 else float((now - before) / before * 100)


def daily_chart(
    p: Page,
    start: datetime,
    end: datetime,
    group_by: str | None = "provider",
    filters: dict[str, str] | None = None,
    limit: int = 8,
    interval: str = "day",
) -> dict[str, object]:
    """uPlot data: one bar per UTC day (or hour), one series per group (the costliest ``limit``, the
    rest summed as "other", stacked last); ``group_by`` None gives one "total" series."""
    rows = p.store.cost_timeseries(p.tenant, interval, group_by, start, end, filters, limit)
    step = timedelta(hours=1) if interval == "hour" else timedelta(days=1)
    first = start.replace(minute=0, second=0, microsecond=0, tzinfo=None)
    first = first if interval == "hour" else first.replace(hour=0)
    days = [first + i * step for i in range(int((end.replace(tzinfo=None) - first) / step) + 1)]
    days = sorted(set(days) | {r[0].replace(tzinfo=None) for r in rows})
    keys = sorted({r[1] for r in rows}, key=lambda k: (k == REST_KEY, k))
    values = {(r[0].replace(tzinfo=None), r[1]): float(r[2]) for r in rows}
    return {
        "x": [int(d.replace(tzinfo=UTC).timestamp()) for d in days],
        "series": [
            {"label": "other" if k == REST_KEY else k, "values": [values.get((d, k), 0.0) for d in days]} for k in keys
        ],
    }


def _month(now: datetime) -> tuple[datetime, Decimal]:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    length = calendar.monthrange(now.year, now.month)[1] * 86400
    return start, Decimal(length) / Decimal(max(1.0, (now - start).total_seconds()))


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, p: PageDep) -> HTMLResponse:
    base = p.context("Overview", "/")
    if not p.store.has_spans(p.tenant):
        return render(request, "getting_started.html", **base, endpoint=request.base_url)
    now = datetime.now(UTC)
    day, week = timedelta(days=1), timedelta(days=7)
    month_start, scale = _month(now)
    windows = [
        (now - day, now),
        (now - 2 * day, now - day),
        (now - week, now),
        (now - 2 * week, now - week),
        (month_start, now),
    ]
    (c24, n24), (p24, _), (c7, n7), (p7, _), (mtd, _) = p.store.cost_totals(p.tenant, windows)
    tops = p.store.cost_tops(p.tenant, ["model", "agent", "customer"], now - week, now, 5)
    untracked = sum((r.cost_usd for r in tops["agent"] if r.key == "untracked"), Decimal(0))
    # The count alone, from the rollups (the per-model list scans spans: Settings shows it).
    by_provider = p.store.cost_breakdown_top(p.tenant, "provider", now - 30 * day, now, None, 100)
    return render(
        request,
        "overview.html",
        **base,
        now=now,
        last_24h=c24,
        calls_24h=n24,
        change_24h=_change(c24, p24),
        last_7d=c7,
        calls_7d=n7,
        change_7d=_change(c7, p7),
        month_to_date=mtd,
        projection=(mtd * scale).quantize(Decimal("0.01")),
        daily=daily_chart(p, now - 30 * day, now),
        tops={d: [r for r in rows if r.key != "untracked"][:5] for d, rows in tops.items()},
        untracked_share=0.0 if c7 == 0 else float(untracked / c7 * 100),
        unpriced_calls=sum(r.unpriced_calls for r in [*by_provider.rows, *filter(None, [by_provider.rest])]),
    )


@router.get("/dashboard/first-span")
def first_span(p: PageDep) -> JSONResponse:
    return JSONResponse({"has_spans": p.store.has_spans(p.tenant)})
