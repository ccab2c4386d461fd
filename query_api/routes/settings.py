from __future__ import annotations

from fastapi import APIRouter, Request

from ..deps import AdminPrincipal, StoreDep
from ..models import AttributionIn, AttributionOut

router = APIRouter(prefix="/api/v1/settings", tags=["settings"])


def _out(names: tuple[str, ...] | None, request: Request) -> AttributionOut:
    default: tuple[str, ...] = request.app.state.default_customer_keys  # the receiver's, handed in by serve
    return AttributionOut(customer=list(names or default), customer_is_default=names is None,
                          default_customer=list(default))


@router.get("/attribution", response_model=AttributionOut,
            summary="Which span attributes name the customer (first present wins; span, then resource)")
def get_attribution(principal: AdminPrincipal, store: StoreDep, request: Request) -> AttributionOut:
    return _out(store.customer_attributes(principal.tenant), request)


@router.put("/attribution", response_model=AttributionOut,
            summary="Set the ordered customer attributes for spans ingested from now on (null: the default list)")
def put_attribution(body: AttributionIn, principal: AdminPrincipal, store: StoreDep,
                    request: Request) -> AttributionOut:
    store.set_customer_attributes(principal.tenant, body.customer)
    return _out(store.customer_attributes(principal.tenant), request)
