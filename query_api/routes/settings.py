from __future__ import annotations

from fastapi import APIRouter, Request

from ..deps import AdminPrincipal, StoreDep
from ..models import AttributionIn, AttributionOut

router = APIRouter(prefix="/api/v1/settings", tags=["settings"])


def _out(lists: dict[str, tuple[str, ...] | None], request: Request) -> AttributionOut:
    default: dict[str, tuple[str, ...]] = request.app.state.default_attribution  # the receiver's, handed in by serve
    fields: dict[str, object] = {}
    for kind, names in lists.items():
        fields[kind] = list(names or default[kind])
        fields[f"{kind}_is_default"] = names is None
        fields[f"default_{kind}"] = list(default[kind])
    return AttributionOut.model_validate(fields)


@router.get("/attribution", response_model=AttributionOut,
            summary="Which span attributes name the customer and the session (first present wins; span, "
                    "then resource, then nearest ancestor)")
def get_attribution(principal: AdminPrincipal, store: StoreDep, request: Request) -> AttributionOut:
    return _out(store.attribution_attributes(principal.tenant), request)


@router.put("/attribution", response_model=AttributionOut,
            summary="Set the ordered customer and/or session attributes for spans ingested from now on "
                    "(a list left out is unchanged; null: the default list)")
def put_attribution(body: AttributionIn, principal: AdminPrincipal, store: StoreDep,
                    request: Request) -> AttributionOut:
    for kind in ("customer", "session"):
        if kind in body.model_fields_set:
            store.set_attribution_attributes(principal.tenant, kind, getattr(body, kind))
    return _out(store.attribution_attributes(principal.tenant), request)
