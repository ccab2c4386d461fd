from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from ..deps import ReadPrincipal, ServicesDep
from ..schemas.costs import GroupBy
from ..services import exports
from ..services.costs import MAX_BREAKDOWN_LIMIT
from ..services.timerange import resolve_range

router = APIRouter(prefix="/api/v1/export", tags=["export"])


@router.get("/traces", summary="Every span in a time range, streamed (CSV or a JSON array)")
def export_traces(
    principal: ReadPrincipal,
    svc: ServicesDep,
    format: Literal["csv", "json"] = Query("csv"),  # noqa: A002 - the public parameter name
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
) -> StreamingResponse:
    return exports.traces_file(svc.store, principal.tenant, format, *resolve_range(start, end))


@router.get("/costs", summary="The cost breakdown as a file (CSV or JSON), at most `limit` rows")
def export_costs(
    principal: ReadPrincipal,
    svc: ServicesDep,
    format: Literal["csv", "json"] = Query("csv"),  # noqa: A002
    group_by: GroupBy = Query("day"),
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
    limit: int = Query(
        MAX_BREAKDOWN_LIMIT,
        ge=1,
        le=MAX_BREAKDOWN_LIMIT,
        description="the most groups, most expensive first; the others are summed in one last row "
        "keyed '(rest: N more groups)'",
    ),
) -> StreamingResponse:
    frm, to = resolve_range(start, end)
    return exports.costs_file(svc.store, principal.tenant, format, group_by, frm, to, limit)
