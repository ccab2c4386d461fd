"""Tenant settings: the ordered attributes that name a span's customer and session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..schemas.settings import AttributionIn, AttributionOut

if TYPE_CHECKING:
    from ._services import Services

__all__ = ["attribution", "set_attribution"]


def attribution(svc: Services, tenant: str) -> AttributionOut:
    lists = svc.store.attribution_attributes(tenant)
    default = svc.default_attribution  # the receiver's, handed in by serve
    fields: dict[str, object] = {}
    for kind, names in lists.items():
        fields[kind] = list(names or default[kind])
        fields[f"{kind}_is_default"] = names is None
        fields[f"default_{kind}"] = list(default[kind])
    return AttributionOut.model_validate(fields)


def set_attribution(svc: Services, tenant: str, body: AttributionIn) -> AttributionOut:
    """Set the lists given (a list left out is unchanged); spans ingested from now on read them."""
    for kind in ("customer", "session"):
        if kind in body.model_fields_set:
            svc.store.set_attribution_attributes(tenant, kind, getattr(body, kind))
    return attribution(svc, tenant)
