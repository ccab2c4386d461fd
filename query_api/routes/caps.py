from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from llmobserve.storage import MAX_CAPS, StoredCap, new_cap_id

from .._cap_models import SCOPED, CapIn, CapPatch, CapPublic, CapsPublic
from ..deps import AdminPrincipal, ReadPrincipal, StoreDep

router = APIRouter(prefix="/api/v1/caps", tags=["caps"])

_CAP_ID = re.compile(r"^cap_[0-9a-f]{16}$")


def _public(cap: StoredCap) -> CapPublic:
    return CapPublic(id=cap.cap_id, name=cap.name, scope=cap.scope, value=cap.value if cap.scope in SCOPED else None,  # type: ignore[arg-type]
                     period=cap.period, time_zone=cap.time_zone, limit_usd=_exact(cap.limit_usd),  # type: ignore[arg-type]
                     thresholds=[_exact(t) for t in cap.thresholds], enforcement=cap.enforcement,
                     recipients=list(cap.recipients), webhooks=list(cap.webhooks), enabled=cap.enabled,
                     created_at=cap.created_at, updated_at=cap.updated_at)


def _exact(value: Decimal) -> str:
    """The decimal as typed, without the storage scale's trailing zeros ("25.000000000000" -> "25")."""
    return format(value.normalize(), "f")


def _stored(cap_id: str, body: CapIn, created_at: datetime) -> StoredCap:
    return StoredCap(cap_id, body.name, body.scope, body.value or "", body.period, body.time_zone,
                     Decimal(body.limit_usd), tuple(body.thresholds), body.enforcement, tuple(body.recipients),
                     tuple(body.webhooks), body.enabled, created_at, created_at)


def _one(store: Any, tenant: str, cap_id: str) -> StoredCap:
    found = store.list_caps(tenant, cap_id) if _CAP_ID.match(cap_id) else []
    if not found:
        raise HTTPException(404, f"no cap {cap_id!r}")
    return found[0]


@router.get("", response_model=CapsPublic, summary="The tenant's spending caps")
def list_caps(principal: ReadPrincipal, store: StoreDep) -> CapsPublic:
    caps = [_public(c) for c in store.list_caps(principal.tenant)]
    return CapsPublic(data=caps, count=len(caps))


@router.post("", response_model=CapPublic, status_code=201, summary="Create a spending cap")
def create_cap(body: CapIn, principal: AdminPrincipal, store: StoreDep) -> CapPublic:
    if len(store.list_caps(principal.tenant)) >= MAX_CAPS:
        raise HTTPException(409, f"a tenant has at most {MAX_CAPS} caps; delete some first "
                                 "(per-customer limits are one 'each_customer' cap)")
    cap = store.put_cap(principal.tenant, _stored(new_cap_id(), body, datetime.now(timezone.utc)))
    return _public(cap)


@router.get("/{cap_id}", response_model=CapPublic, summary="One spending cap")
def get_cap(cap_id: str, principal: ReadPrincipal, store: StoreDep) -> CapPublic:
    return _public(_one(store, principal.tenant, cap_id))


@router.patch("/{cap_id}", response_model=CapPublic, summary="Change some fields of a spending cap")
def patch_cap(cap_id: str, body: CapPatch, principal: AdminPrincipal, store: StoreDep) -> CapPublic:
    current = _one(store, principal.tenant, cap_id)
    fields = _public(current).model_dump(exclude={"id", "created_at", "updated_at"})
    try:
        changed = body.applied_to(fields)
    except ValidationError as exc:  # the change makes an invalid cap: the caller's mistake, a 422
        raise RequestValidationError(exc.errors(include_url=False)) from None
    return _public(store.put_cap(principal.tenant, _stored(cap_id, changed, current.created_at)))


@router.delete("/{cap_id}", status_code=204, summary="Delete a spending cap")
def delete_cap(cap_id: str, principal: AdminPrincipal, store: StoreDep) -> Response:
    _one(store, principal.tenant, cap_id)
    store.delete_cap(principal.tenant, cap_id)
    return Response(status_code=204)
