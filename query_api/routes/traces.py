from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from ..deps import ReadPrincipal, ServicesDep
from ..schemas.traces import RunsPage, TraceTree
from ..services import runs
from ..services.timerange import resolve_range
from ..services.trace_tree import MAX_DEPTH

router = APIRouter(prefix="/api/v1/traces", tags=["traces"])


@router.get("", response_model=RunsPage, summary="Runs (traces), newest or costliest first, cursor-paginated")
def list_runs(
    principal: ReadPrincipal,
    svc: ServicesDep,
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
    filters = {
        k: v
        for k, v in {"service": service, "customer": customer, "agent": agent, "session": session}.items()
        if v is not None
    }
    return runs.list_runs(svc.store, principal.tenant, sort, limit, cursor, frm, to, filters)


@router.get(
    "/{trace_id}",
    response_model=TraceTree,
    summary="One run as a tree of spans with cost rolled up",
    responses={404: {"description": "No such trace for this tenant"}},
)
def trace_tree(
    trace_id: str,
    principal: ReadPrincipal,
    svc: ServicesDep,
    root: str | None = Query(
        None,
        description=f"a span id: only its subtree, to read below the {MAX_DEPTH} "
        "levels a tree nests (see `children_omitted`)",
    ),
) -> TraceTree:
    return runs.trace_tree(svc.store, principal.tenant, trace_id, root)
