from __future__ import annotations

from fastapi import APIRouter, Query, Response

from ..deps import AdminPrincipal, ReadPrincipal, ServicesDep
from ..schemas.pricing import (
    CustomPriceIn,
    CustomPricePublic,
    CustomPricesPublic,
    RepriceIn,
    RepriceOut,
    UnpricedModels,
)
from ..services import prices
from ..services.timerange import resolve_range

router = APIRouter(prefix="/api/v1/pricing", tags=["pricing"])


@router.get(
    "/unpriced",
    response_model=UnpricedModels,
    response_model_by_alias=True,
    summary="Models seen without a price: their calls are counted, never as $0",
)
def unpriced(
    principal: ReadPrincipal,
    svc: ServicesDep,
    start: str | None = Query(None, alias="from", description="ISO 8601 start (inclusive); default to - 30 days"),
    end: str | None = Query(None, alias="to", description="ISO 8601 end (exclusive); default now"),
) -> UnpricedModels:
    return prices.unpriced(svc.store, principal.tenant, *resolve_range(start, end))


@router.put("/models", response_model=CustomPricePublic, summary="Create or replace a tenant custom price")
def put_custom_price(body: CustomPriceIn, principal: AdminPrincipal, svc: ServicesDep) -> CustomPricePublic:
    return prices.put_price(svc, principal.tenant, body, by=principal)


@router.get("/models", response_model=CustomPricesPublic, summary="The tenant's custom prices")
def list_custom_prices(principal: ReadPrincipal, svc: ServicesDep) -> CustomPricesPublic:
    return prices.list_prices(svc.control, principal.tenant)


@router.delete("/models/{price_id}", status_code=204, summary="Delete a custom price")
def delete_custom_price(price_id: str, principal: AdminPrincipal, svc: ServicesDep) -> Response:
    prices.delete_price(svc, principal.tenant, price_id, by=principal)
    return Response(status_code=204)


@router.post(
    "/reprice",
    response_model=RepriceOut,
    summary="Recompute stored costs in a time range with the current prices (no span is added)",
)
def reprice_range(body: RepriceIn, principal: AdminPrincipal, svc: ServicesDep) -> RepriceOut:
    return prices.reprice_range(svc, principal.tenant, body.from_, body.to)
