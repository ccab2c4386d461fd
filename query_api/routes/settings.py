from __future__ import annotations

from fastapi import APIRouter

from ..deps import AdminPrincipal, ServicesDep
from ..schemas.settings import AttributionIn, AttributionOut
from ..services import settings

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
