from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Query

from ..deps import ReadPrincipal, StoreDep
from ..models import BreakdownRowPublic, CostBreakdown, GroupBy
from .._timerange import resolve_range

router = APIRouter(prefix="/api/v1/costs", tags=["costs"])


@router.get("/breakdown", response_model=CostBreakdown, response_model_by_alias=True,
            summary="LLM cost grouped by provider, model, agent, customer, section, service, tool, day or hour")
def breakdown(
    principal: ReadPrincipal,
    store: StoreDep,
    group_by: GroupBy = Query(description="Dimension to group by"),
    start: str | None = Query(None, alias="from", description="ISO 8601 start (inclusive); default to - 30 days"),
    end: str | None = Query(None, alias="to", description="ISO 8601 end (exclusive); default now"),
    provider: str | None = Query(None, description="only this provider ('unknown' for none reported)"),
    model: str | None = Query(None, description="only this model"),
    agent: str | None = Query(None, description="only this agent ('untracked' for LLM cost outside agents)"),
    customer: str | None = Query(None, description="only this customer ('untracked' for none)"),
    service: str | None = Query(None, description="only this service.name"),
) -> CostBreakdown:
    frm, to = resolve_range(start, end)
    filters = {k: v for k, v in {"provider": provider, "model": model, "agent": agent, "customer": customer,
                                 "service": service}.items() if v is not None}
    rows = store.cost_breakdown(principal.tenant, group_by, frm, to, filters)
    total = sum((r.cost_usd for r in rows), Decimal(0))
    return CostBreakdown(
        group_by=group_by,
        from_=frm,
        to=to,
        total_cost_usd=float(total),
        unpriced_calls=sum(r.unpriced_calls for r in rows),
        rows=[
            BreakdownRowPublic(key=r.key, cost_usd=float(r.cost_usd), calls=r.calls, input_tokens=r.input_tokens,
                               output_tokens=r.output_tokens, unpriced_calls=r.unpriced_calls,
                               failed_calls=r.failed_calls, cached_tokens=r.cached_tokens)
            for r in rows
        ],
    )
