"""Tenant custom prices (stored prices <-> the pricing package's rules), the models still without a
price, and re-pricing stored spans after prices change."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from llmobserve.control import ControlStore, Principal, StoredPrice, price_id
from llmobserve.pricing import CustomPrice, canonical_provider
from llmobserve.storage import Store

from ..schemas.pricing import (
    CustomPriceIn,
    CustomPricePublic,
    CustomPricesPublic,
    RepriceOut,
    UnpricedModelPublic,
    UnpricedModels,
)
from .errors import BadRequest, NotFound
from .people import record
from .reprice import reprice
from .timerange import check_time

if TYPE_CHECKING:
    from ._services import Services

__all__ = ["delete_price", "list_prices", "public", "put_price", "reprice_range", "rules_for", "to_rule", "unpriced"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_rule(price: StoredPrice) -> CustomPrice:
    effective_ns = calendar.timegm(price.effective_from.utctimetuple()) * 10**9
    return CustomPrice(
        price.price_id,
        price.provider,
        price.model,
        price.is_regex,
        effective_ns,
        price.input_per_mtok,
        price.output_per_mtok,
        price.cache_read_per_mtok,
        price.cache_write_per_mtok,
        price.reasoning_per_mtok,
    )


def rules_for(control: ControlStore, tenant: str) -> list[CustomPrice]:
    return [to_rule(p) for p in control.list_prices(tenant)]


def public(p: StoredPrice) -> CustomPricePublic:
    def f(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    return CustomPricePublic(
        id=p.price_id,
        provider=p.provider,
        model=p.model,
        is_regex=p.is_regex,
        effective_from=p.effective_from,
        input_per_mtok=float(p.input_per_mtok),
        output_per_mtok=float(p.output_per_mtok),
        cache_read_per_mtok=f(p.cache_read_per_mtok),
        cache_write_per_mtok=f(p.cache_write_per_mtok),
        reasoning_per_mtok=f(p.reasoning_per_mtok),
        source=p.source,
        updated_at=p.updated_at,
    )


def unpriced(store: Store, tenant: str, frm: datetime, to: datetime) -> UnpricedModels:
    models = store.unpriced_models(tenant, frm, to)
    return UnpricedModels(
        from_=frm,
        to=to,
        unpriced_calls=sum(m.calls for m in models),
        models=[
            UnpricedModelPublic(
                provider=m.provider,
                model=m.model,
                calls=m.calls,
                input_tokens=m.input_tokens,
                output_tokens=m.output_tokens,
                first_seen=m.first_seen,
                last_seen=m.last_seen,
            )
            for m in models
        ],
    )


def put_price(svc: Services, tenant: str, body: CustomPriceIn, by: Principal | None = None) -> CustomPricePublic:
    """Create or replace; it prices what is ingested from now on (the receiver's rules are reloaded)."""
    provider = canonical_provider(body.provider) if body.provider else ""
    model = body.model if body.model is not None else str(body.model_pattern)
    effective = check_time("effective_from", body.effective_from) if body.effective_from else _EPOCH
    stored = StoredPrice(
        price_id(provider, model, body.model is None, effective),
        provider,
        model,
        body.model is None,
        effective,
        body.input_per_mtok,
        body.output_per_mtok,
        body.cache_read_per_mtok,
        body.cache_write_per_mtok,
        body.reasoning_per_mtok,
        "api",
        datetime.now(UTC),
    )
    svc.control.put_price(tenant, stored)
    svc.prices.invalidate(tenant)
    record(svc.control, tenant, by, "price.put", stored.price_id, provider=provider, model=model)
    return public(stored)


def list_prices(control: ControlStore, tenant: str) -> CustomPricesPublic:
    prices = [public(p) for p in control.list_prices(tenant)]
    return CustomPricesPublic(data=prices, count=len(prices))


def delete_price(svc: Services, tenant: str, price_id: str, by: Principal | None = None) -> None:
    if not svc.control.delete_price(tenant, price_id):
        raise NotFound(f"no custom price {price_id!r}")
    svc.prices.invalidate(tenant)
    record(svc.control, tenant, by, "price.delete", price_id)


def reprice_range(svc: Services, tenant: str, start: datetime, end: datetime) -> RepriceOut:
    """Recompute stored costs in [start, end) with the current prices; no span is added."""
    frm, to = check_time("from", start), check_time("to", end)
    if frm >= to:
        raise BadRequest(f"'from' ({frm.isoformat()}) must be before 'to' ({to.isoformat()})")
    svc.prices.invalidate(tenant)
    result = reprice(svc.store, tenant, frm, to, svc.pricer, svc.prices.for_tenant(tenant))
    return RepriceOut(
        spans=result.spans, cost_before_usd=float(result.cost_before), cost_after_usd=float(result.cost_after)
    )
