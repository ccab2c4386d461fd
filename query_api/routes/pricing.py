from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from fastapi import APIRouter, HTTPException, Query, Request, Response

from llmobserve.pricing import canonical_provider
from llmobserve.storage import StoredPrice, price_id

from .._reprice import reprice
from .._timerange import check_time, resolve_range
from ..deps import AdminPrincipal, ReadPrincipal, StoreDep
from ..models import (
    CustomPriceIn,
    CustomPricePublic,
    CustomPricesPublic,
    RepriceIn,
    RepriceOut,
    UnpricedModelPublic,
    UnpricedModels,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

router = APIRouter(prefix="/api/v1/pricing", tags=["pricing"])


@router.get("/unpriced", response_model=UnpricedModels, response_model_by_alias=True,
            summary="Models seen without a price: their calls are counted, never as $0")
def unpriced(
    principal: ReadPrincipal,
    store: StoreDep,
    start: str | None = Query(None, alias="from", description="ISO 8601 start (inclusive); default to - 30 days"),
    end: str | None = Query(None, alias="to", description="ISO 8601 end (exclusive); default now"),
) -> UnpricedModels:
    frm, to = resolve_range(start, end)
    models = store.unpriced_models(principal.tenant, frm, to)
    return UnpricedModels(
        from_=frm, to=to, unpriced_calls=sum(m.calls for m in models),
        models=[UnpricedModelPublic(provider=m.provider, model=m.model, calls=m.calls, input_tokens=m.input_tokens,
                                    output_tokens=m.output_tokens, first_seen=m.first_seen, last_seen=m.last_seen)
                for m in models],
    )


def _public(p: StoredPrice) -> CustomPricePublic:
    def f(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    return CustomPricePublic(id=p.price_id, provider=p.provider, model=p.model, is_regex=p.is_regex,
                             effective_from=p.effective_from, input_per_mtok=float(p.input_per_mtok),
                             output_per_mtok=float(p.output_per_mtok), cache_read_per_mtok=f(p.cache_read_per_mtok),
                             cache_write_per_mtok=f(p.cache_write_per_mtok), reasoning_per_mtok=f(p.reasoning_per_mtok),
                             source=p.source, updated_at=p.updated_at)


@router.put("/models", response_model=CustomPricePublic, summary="Create or replace a tenant custom price")
def put_custom_price(body: CustomPriceIn, principal: AdminPrincipal, store: StoreDep, request: Request) -> CustomPricePublic:
    provider = canonical_provider(body.provider) if body.provider else ""
    model = body.model if body.model is not None else str(body.model_pattern)
    effective = check_time("effective_from", body.effective_from) if body.effective_from else _EPOCH
    stored = StoredPrice(price_id(provider, model, body.model is None, effective), provider, model,
                         body.model is None, effective, body.input_per_mtok, body.output_per_mtok,
                         body.cache_read_per_mtok, body.cache_write_per_mtok, body.reasoning_per_mtok, "api",
                         datetime.now(timezone.utc))
    store.put_price(principal.tenant, stored)
    request.app.state.prices.invalidate(principal.tenant)
    return _public(stored)


@router.get("/models", response_model=CustomPricesPublic, summary="The tenant's custom prices")
def list_custom_prices(principal: ReadPrincipal, store: StoreDep) -> CustomPricesPublic:
    prices = [_public(p) for p in store.list_prices(principal.tenant)]
    return CustomPricesPublic(data=prices, count=len(prices))


@router.delete("/models/{price_id}", status_code=204, summary="Delete a custom price")
def delete_custom_price(price_id: str, principal: AdminPrincipal, store: StoreDep, request: Request) -> Response:
    if not store.delete_price(principal.tenant, price_id):
        raise HTTPException(404, f"no custom price {price_id!r}")
    request.app.state.prices.invalidate(principal.tenant)
    return Response(status_code=204)


@router.post("/reprice", response_model=RepriceOut,
             summary="Recompute stored costs in a time range with the current prices (no span is added)")
def reprice_range(body: RepriceIn, principal: AdminPrincipal, store: StoreDep, request: Request) -> RepriceOut:
    frm, to = check_time("from", body.from_), check_time("to", body.to)
    if frm >= to:
        raise HTTPException(400, f"'from' ({frm.isoformat()}) must be before 'to' ({to.isoformat()})")
    prices = request.app.state.prices
    prices.invalidate(principal.tenant)
    result = reprice(store, principal.tenant, frm, to, request.app.state.pricer, prices.for_tenant(principal.tenant))
    return RepriceOut(spans=result.spans, cost_before_usd=float(result.cost_before),
                      cost_after_usd=float(result.cost_after))
