"""Tenant settings: the ordered attributes that name a span's customer and session."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..schemas.settings import AttributionIn, AttributionOut, DuplicateDay, DuplicatesIn, DuplicatesOut

if TYPE_CHECKING:
    from ._services import Services

__all__ = ["attribution", "duplicates", "set_attribution", "set_duplicates"]


def attribution(svc: Services, tenant: str) -> AttributionOut:
    lists = svc.control.attribution_attributes(tenant)
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
            svc.control.set_attribution_attributes(tenant, kind, getattr(body, kind))
    return attribution(svc, tenant)


def duplicates(svc: Services, tenant: str, frm: datetime, to: datetime) -> DuplicatesOut:
    """Whether one call reported in two traces is charged once, and how many reports were marked per day."""
    days = [
        DuplicateDay(day=day, duplicates=count, cause=cause)
        for day, cause, count in svc.store.duplicate_days(tenant, frm, to)
    ]
    return DuplicatesOut(
        detect=svc.control.detects_duplicates(tenant),
        from_=frm,
        to=to,
        total=sum(d.duplicates for d in days),
        days=days,
    )


def set_duplicates(svc: Services, tenant: str, body: DuplicatesIn, frm: datetime, to: datetime) -> DuplicatesOut:
    """Turn detection on or off for spans ingested from now on (what was marked stays marked)."""
    svc.control.set_detects_duplicates(tenant, body.detect)
    return duplicates(svc, tenant, frm, to)
