from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query

from ..deps import ReadPrincipal, ServicesDep
from ..schemas.costs import CostBreakdown, CostSummary, GroupBy, Timeseries
from ..services import costs
from ..services.costs import BREAKDOWN_LIMIT, MAX_BREAKDOWN_LIMIT, MAX_SERIES_LIMIT, SERIES_LIMIT
from ..services.timerange import parse_time, resolve_range

router = APIRouter(prefix="/api/v1/costs", tags=["costs"])


def _cost_filters(
    provider: str | None = Query(None, description="only this provider ('unknown' for none reported)"),
    model: str | None = Query(None, description="only this model"),
    agent: str | None = Query(None, description="only this agent ('untracked' for LLM cost outside agents)"),
    customer: str | None = Query(None, description="only this customer ('untracked' for none)"),
    service: str | None = Query(None, description="only this service.name"),
    session: str | None = Query(None, description="only this session / conversation ('untracked' for none)"),
) -> dict[str, str]:
    """The label filters breakdowns and timeseries share."""
    return {
        k: v
        for k, v in {
            "provider": provider,
            "model": model,
            "agent": agent,
            "customer": customer,
            "service": service,
            "session": session,
        }.items()
        if v is not None
    }


@router.get(
    "/breakdown",
    response_model=CostBreakdown,
    response_model_by_alias=True,
    summary="LLM cost grouped by provider, model, agent, customer, session, section, service, tool, day or hour",
)
def breakdown(
    principal: ReadPrincipal,
    svc: ServicesDep,
    group_by: GroupBy = Query(description="Dimension to group by"),
    start: str | None = Query(None, alias="from", description="ISO 8601 start (inclusive); default to - 30 days"),
    end: str | None = Query(None, alias="to", description="ISO 8601 end (exclusive); default now"),
    limit: int = Query(
        BREAKDOWN_LIMIT,
        ge=1,
        le=MAX_BREAKDOWN_LIMIT,
        description="the most rows, most expensive first; the others are summed in `rest`",
    ),
    filters: dict[str, str] = Depends(_cost_filters),
) -> CostBreakdown:
    return costs.breakdown(svc.store, principal.tenant, group_by, *resolve_range(start, end), filters, limit)


@router.get(
    "/timeseries",
    response_model=Timeseries,
    response_model_by_alias=True,
    summary="LLM cost per hour or day, zero-filled, optionally one series per group",
)
def timeseries(
    principal: ReadPrincipal,
    svc: ServicesDep,
    interval: Literal["hour", "day"] = Query("day"),
    group_by: GroupBy | None = Query(None, description="one series per value; default one 'total' series"),
    start: str | None = Query(None, alias="from", description="ISO 8601 start (inclusive); default to - 30 days"),
    end: str | None = Query(None, alias="to", description="ISO 8601 end (exclusive); default now"),
    filters: dict[str, str] = Depends(_cost_filters),
    limit: int = Query(
        SERIES_LIMIT,
        ge=1,
        le=MAX_SERIES_LIMIT,
        description="most series in the answer, costliest first; the rest are summed into 'rest'",
    ),
) -> Timeseries:
    frm, to = resolve_range(start, end)
    return costs.timeseries(svc.store, principal.tenant, interval, group_by, frm, to, filters, limit)


@router.get(
    "/summary",
    response_model=CostSummary,
    summary="Last 24 h and 7 days against the windows before, top spenders, untracked share",
)
def summary(
    principal: ReadPrincipal,
    svc: ServicesDep,
    as_of: str | None = Query(None, description="ISO 8601 end of the windows; default now"),
) -> CostSummary:
    now = parse_time("as_of", as_of) if as_of else datetime.now(UTC)
    return costs.summary(svc.store, principal.tenant, now)
