from __future__ import annotations

from fastapi import APIRouter, Query

from ..deps import AdminPrincipal, ReadPrincipal, ServicesDep
from ..schemas.settings import AttributionIn, AttributionOut, DuplicatesIn, DuplicatesOut
from ..services import settings
from ..services.timerange import resolve_range

router = APIRouter(prefix="/api/v1/settings", tags=["settings"])


@router.get(
    "/attribution",
    response_model=AttributionOut,
    summary="Which span attributes name the customer and the session (first present wins; span, "
    "then resource, then nearest ancestor)",
)
def get_attribution(principal: AdminPrincipal, svc: ServicesDep) -> AttributionOut:
    return settings.attribution(svc, principal.tenant)


@router.put(
    "/attribution",
    response_model=AttributionOut,
    summary="Set the ordered customer and/or session attributes for spans ingested from now on "
    "(a list left out is unchanged; null: the default list)",
)
def put_attribution(body: AttributionIn, principal: AdminPrincipal, svc: ServicesDep) -> AttributionOut:
    return settings.set_attribution(svc, principal.tenant, body)


@router.get(
    "/duplicates",
    response_model=DuplicatesOut,
    response_model_by_alias=True,
    summary="Whether one call reported in two traces is charged once, and the reports marked per day",
)
def get_duplicates(
    principal: ReadPrincipal,
    svc: ServicesDep,
    start: str | None = Query(None, alias="from", description="ISO 8601 start (inclusive); default to - 30 days"),
    end: str | None = Query(None, alias="to", description="ISO 8601 end (exclusive); default now"),
) -> DuplicatesOut:
    return settings.duplicates(svc, principal.tenant, *resolve_range(start, end))


@router.put(
    "/duplicates",
    response_model=DuplicatesOut,
    response_model_by_alias=True,
    summary="Turn duplicate detection on or off for spans ingested from now on",
)
def put_duplicates(body: DuplicatesIn, principal: AdminPrincipal, svc: ServicesDep) -> DuplicatesOut:
    return settings.set_duplicates(svc, principal.tenant, body, *resolve_range(None, None))
