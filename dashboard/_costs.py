"""Costs: LLM spend grouped by any dimension, filtered, over a chosen range, and its CSV / JSON download.

The figures come from ``cost_breakdown_top`` as ``/api/v1/costs/breakdown`` reads them, and the
download is the API export's own service (``query_api.services.exports``), so page, API and file agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import get_args
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from llmobserve.query_api.schemas import GroupBy
from llmobserve.query_api.services import BadRequest
from llmobserve.query_api.services.costs import MAX_BREAKDOWN_LIMIT
from llmobserve.query_api.services.exports import costs_file
from llmobserve.query_api.services.timerange import DEFAULT_WINDOW, EARLIEST, parse_time
from llmobserve.storage import BreakdownRow

from ._overview import daily_chart
from ._web import Page, PageDep, render

__all__ = ["FILTERS", "RANGES", "BadQuery", "Window", "costs_link", "router", "total", "window"]

router = APIRouter(include_in_schema=False)

GROUPS: tuple[str, ...] = get_args(GroupBy)
FILTERS = ("provider", "model", "agent", "customer", "session", "service")
"""The label filters, named as the API's query parameters."""
RANGES = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", DEFAULT_WINDOW),
    "90d": ("Last 90 days", timedelta(days=90)),
}
DEFAULT_RANGE = "30d"
DEFAULT_GROUP = "model"
PAGE_ROWS = 100  # a table a person reads; the rest is one "and N more" row, the download has up to 10,000
CHART_SERIES = 8
HOURLY_UP_TO = timedelta(days=2)  # longer ranges get a bar per day: 90 days of hours is 2,160 thin bars
CHART_DAYS = 5000  # the API's bound on timeseries buckets; a longer range shows the table alone


class BadQuery(ValueError):
    """A query parameter the page cannot use; its message is the page's error banner."""


@dataclass(frozen=True)
class Window:
    """The range a page shows: a preset, or ``from`` / ``to`` as the API reads them (``to`` exclusive)."""

    preset: str
    start: datetime
    end: datetime
    raw_from: str
    raw_to: str

    @property
    def interval(self) -> str:
        return "hour" if self.end - self.start <= HOURLY_UP_TO else "day"

    def query(self) -> dict[str, str]:
        """The parameters that reproduce this range in a link (the defaults left out)."""
        return {
            k: v
            for k, v in (
                ("range", "" if self.preset == DEFAULT_RANGE else self.preset),
                ("from", self.raw_from),
                ("to", self.raw_to),
            )
            if v
        }


def window(params: Mapping[str, str]) -> Window:
    """``range`` (a preset) and optional ``from`` / ``to``; an explicit ``from`` or ``to`` wins over the preset."""
    preset = params.get("range") or DEFAULT_RANGE
    if preset not in RANGES:
        raise BadQuery(f"'range' must be one of {', '.join(RANGES)}, got {preset[:64]!r}")
    raw_from, raw_to = params.get("from", "").strip(), params.get("to", "").strip()
    try:  # the API's own parsing and bounds, so a date means here what it means there
        end = parse_time("to", raw_to) if raw_to else datetime.now(UTC)
        start = parse_time("from", raw_from) if raw_from else max(EARLIEST, end - RANGES[preset][1])
    except BadRequest as exc:
        raise BadQuery(str(exc.detail)) from None
    if start >= end:
        raise BadQuery(f"'from' ({start.isoformat()}) must be before 'to' ({end.isoformat()})")
    return Window(preset, start, end, raw_from, raw_to)


def filters_of(params: Mapping[str, str]) -> dict[str, str]:
    """The filters set; a form's empty fields are not filters (the API would match the empty label)."""
    return {name: params[name] for name in FILTERS if params.get(name)}


def costs_link(**params: str) -> str:
    """``/costs`` with these parameters, the empty ones left out."""
    query = urlencode({k: v for k, v in params.items() if v})
    return "/costs" + (f"?{query}" if query else "")


def total(rows: list[BreakdownRow]) -> BreakdownRow:
    """Every metric summed: the API's total_cost_usd and unpriced_calls, and the table's last row."""
    cost, *counts = (sum(getattr(r, f.name) for r in rows) for f in fields(BreakdownRow)[1:])
    return BreakdownRow("Total", Decimal(cost), *counts)


def _group(params: Mapping[str, str]) -> str:
    group_by = params.get("group_by") or DEFAULT_GROUP
    if group_by not in GROUPS:
        raise BadQuery(f"'group_by' must be one of {', '.join(GROUPS)}, got {group_by[:64]!r}")
    return group_by


def _form(params: Mapping[str, str]) -> dict[str, str]:
    """What the form shows back: the values as typed, so a bad one can be corrected."""
    return {name: params.get(name, "") for name in ("group_by", "range", "from", "to", *FILTERS)}


@router.get("/costs", response_class=HTMLResponse)
def costs(request: Request, p: PageDep) -> HTMLResponse:
    params = request.query_params
    base = {
        **p.context("Costs", "/costs"),
        "form": _form(params),
        "groups": GROUPS,
        "ranges": RANGES,
        "filter_names": FILTERS,
        "default_group": DEFAULT_GROUP,
        "default_range": DEFAULT_RANGE,
        "filters_open": any(params.get(name) for name in FILTERS),
    }
    try:
        group_by, win = _group(params), window(params)
    except BadQuery as exc:
        return render(request, "costs.html", status_code=400, **base, error=str(exc))
    filters = filters_of(params)
    state = {"group_by": group_by, **win.query(), **filters}

    def link(**changes: str) -> str:
        return costs_link(**{**state, **changes})

    found = p.store.cost_breakdown_top(p.tenant, group_by, win.start, win.end, filters, PAGE_ROWS)
    # day and hour are the chart's own axis: one series of the total, not one per bar
    series = None if group_by in ("day", "hour") else group_by
    download = urlencode({"group_by": group_by, "from": win.start.isoformat(), "to": win.end.isoformat(), **filters})
    return render(
        request,
        "costs.html",
        **base,
        error=None,
        group_by=group_by,
        win=win,
        filters=filters,
        rows=found.rows,
        rest=found.rest,
        rest_groups=found.rest_groups,
        total=total(found.rows + ([found.rest] if found.rest else [])),
        link=link,
        chart_data=daily_chart(p, win.start, win.end, series, filters, CHART_SERIES, win.interval)
        if found.rows and win.end - win.start <= timedelta(days=CHART_DAYS)
        else None,
        csv_href=f"/costs/export.csv?{download}",
        json_href=f"/costs/export.json?{download}",
    )


def _export(request: Request, p: Page, fmt: str) -> StreamingResponse:
    params = request.query_params
    try:
        group_by, win = _group(params), window(params)
    except BadQuery as exc:
        raise HTTPException(400, str(exc)) from None
    return costs_file(p.store, p.tenant, fmt, group_by, win.start, win.end, MAX_BREAKDOWN_LIMIT, filters_of(params))


@router.get("/costs/export.csv")
def export_csv(request: Request, p: PageDep) -> StreamingResponse:
    """``/api/v1/export/costs?format=csv`` for the signed-in browser, which holds a session, not a bearer key."""
    return _export(request, p, "csv")


@router.get("/costs/export.json")
def export_json(request: Request, p: PageDep) -> StreamingResponse:
    return _export(request, p, "json")
