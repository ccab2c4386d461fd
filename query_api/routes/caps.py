from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from llmobserve.storage import MAX_CAPS, StoredCap, new_cap_id

from .._call_cost import rates
from .._cap_models import SCOPED, CapIn, CapPatch, CapPublic, CapsPublic
from .._cap_status import CapStatus, applies_to, blocking, evaluate, state_of
from .._cap_status_models import BlockedBy, CapStatusPublic, CheckPublic, CustomerSpend, RatesPublic, StatusPublic
from .._money import exact_text
from .._webhook_policy import literal_blocked_reason
from ..deps import AdminPrincipal, ReadPrincipal, SenderPrincipal, StoreDep

router = APIRouter(prefix="/api/v1/caps", tags=["caps"])

_CAP_ID = re.compile(r"^cap_[0-9a-f]{16}$")


def _public(cap: StoredCap) -> CapPublic:
    return CapPublic(id=cap.cap_id, name=cap.name, scope=cap.scope, value=cap.value if cap.scope in SCOPED else None,  # type: ignore[arg-type]
                     period=cap.period, time_zone=cap.time_zone, limit_usd=exact_text(cap.limit_usd),  # type: ignore[arg-type]
                     thresholds=[exact_text(t) for t in cap.thresholds], enforcement=cap.enforcement,
                     recipients=list(cap.recipients), webhooks=list(cap.webhooks), enabled=cap.enabled,
                     created_at=cap.created_at, updated_at=cap.updated_at)


def _stored(cap_id: str, body: CapIn, created_at: datetime) -> StoredCap:
    return StoredCap(cap_id, body.name, body.scope, body.value or "", body.period, body.time_zone,
                     Decimal(body.limit_usd), tuple(body.thresholds), body.enforcement, tuple(body.recipients),
                     tuple(body.webhooks), body.enabled, created_at, created_at)


def find_cap(store: Any, tenant: str, cap_id: str) -> StoredCap:
    found = store.list_caps(tenant, cap_id) if _CAP_ID.match(cap_id) else []
    if not found:
        raise HTTPException(404, f"no cap {cap_id!r}")
    return found[0]


def caps_changed(request: Request, tenant: str) -> None:
    """Tell the monitor and the reservation ledger of this process to read the tenant's caps again."""
    for part in (request.app.state.caps_monitor, request.app.state.reservations):
        if part is not None:
            part.caps_changed(tenant)


def _check_webhooks(request: Request, webhooks: list[str]) -> None:
    """A 422 for a webhook this server may not call (see ``_webhook_policy``), before it is saved."""
    if request.app.state.webhooks_allow_private:
        return
    problems = [{"type": "value_error", "loc": ("body", "webhooks", i), "input": url,
                 "msg": f"{reason}: webhooks must reach a public address (the operator can allow private ones "
                        "with LLMOBSERVE_WEBHOOKS_ALLOW_PRIVATE=true)"}
                for i, url in enumerate(webhooks) if (reason := literal_blocked_reason(url)) is not None]
    if problems:
        raise RequestValidationError(problems)


def _percent(spend: Decimal, limit: Decimal) -> float:
    return float(round(spend * 100 / limit, 4))


def _status_public(status: CapStatus, asked: frozenset[str] = frozenset()) -> CapStatusPublic:
    cap = status.cap
    customers = None
    if cap.scope == "each_customer":
        near = min(cap.thresholds) * cap.limit_usd
        shown = sorted(((c, s) for c, s in status.by_customer.items() if s >= near or c in asked),
                       key=lambda item: (-item[1], item[0]))[:1000]
        shown += [(c, Decimal(0)) for c in sorted(asked - status.by_customer.keys())]
        customers = [CustomerSpend(customer=c, spend_usd=exact_text(s), percent=_percent(s, cap.limit_usd),
                                   state=state_of(cap, s)) for c, s in shown]  # type: ignore[arg-type]
    return CapStatusPublic(**_public(cap).model_dump(), period_start=status.period_start, resets_at=status.resets_at,
                           spend_usd=exact_text(status.spend), percent=_percent(status.spend, cap.limit_usd),
                           state=state_of(cap, status.spend), customers=customers)  # type: ignore[arg-type]


def _clock(request: Request) -> Any:
    return request.app.state.caps_clock


def _statuses(request: Request, store: Any, tenant: str, caps: list[StoredCap], clock: Any) -> list[CapStatus]:
    """``evaluate``, shared by every poller of the tenant (see ``_status_cache``)."""
    return request.app.state.cap_statuses.statuses(tenant, caps, lambda: evaluate(store, tenant, caps, clock))


@router.get("/status", response_model=StatusPublic, summary="Where each cap stands: spend this period, reset, state")
def caps_status(request: Request, principal: SenderPrincipal, store: StoreDep,
                customer: list[str] = Query([], max_length=100, description="also report these customers of each_customer caps"),
                model: list[str] = Query([], max_length=50, description="`provider/model`: include its per-token rates")) -> StatusPublic:
    """Answers ingest-only keys too: it is what the SDK polls to block calls over a hard-block cap."""
    now = _clock(request)()
    statuses = _statuses(request, store, principal.tenant, store.list_caps(principal.tenant), lambda: now)
    asked = frozenset(c for c in customer if c)
    found: dict[str, RatesPublic] = {}
    custom = request.app.state.prices.for_tenant(principal.tenant)
    for name in model[:50]:
        provider, _, model_name = name.partition("/")
        if model_name and (known := rates(request.app.state.pricer, custom, provider, model_name)) is not None:
            found[name] = RatesPublic(**known)
    caps = [_status_public(s, asked) for s in statuses]
    if not principal.allows("read"):  # an app's ingest key: where caps stand, not who gets told
        caps = [c.model_copy(update={"recipients": [], "webhooks": []}) for c in caps]
    return StatusPublic(as_of=now, caps=caps, rates=found)


def blocked_by(statuses: list[tuple[CapStatus, str, Decimal]]) -> list[BlockedBy]:
    return [BlockedBy(cap_id=s.cap.cap_id, name=s.cap.name, scope=s.cap.scope,
                      value=s.cap.value if s.cap.scope in SCOPED else None,
                      customer=subject if s.cap.scope == "each_customer" else None,
                      spend_usd=exact_text(spend), limit_usd=exact_text(s.cap.limit_usd), resets_at=s.resets_at)
            for s, subject, spend in statuses]


@router.get("/check", response_model=CheckPublic, summary="Would a call with these labels be blocked now?")
def caps_check(request: Request, principal: SenderPrincipal, store: StoreDep,
               provider: str = Query("", max_length=256), model: str = Query("", max_length=256),
               agent: str = Query("", max_length=256), customer: str = Query("", max_length=256),
               service: str = Query("", max_length=256)) -> CheckPublic:
    """For apps without the SDK (any OTel app, a gateway): ask before sending. Only enabled
    ``hard_block`` caps block; the answer is as fresh as ``/caps/status``'s (see ``_status_cache``)."""
    labels = {"provider": provider, "model": model, "agent": agent, "customer": customer, "service": service}
    caps = store.list_caps(principal.tenant)
    over = []
    hard = {cap.cap_id for cap in blocking(caps)}
    for status in _statuses(request, store, principal.tenant, caps, _clock(request)):
        if status.cap.cap_id not in hard:
            continue
        subject = applies_to(status.cap, labels)
        spend = status.subjects().get(subject, Decimal(0)) if subject is not None else Decimal(0)
        if subject is not None and spend >= status.cap.limit_usd:
            over.append((status, subject, spend))
    return CheckPublic(allowed=not over, blocked_by=blocked_by(over))


@router.get("", response_model=CapsPublic, summary="The tenant's spending caps")
def list_caps(principal: ReadPrincipal, store: StoreDep) -> CapsPublic:
    caps = [_public(c) for c in store.list_caps(principal.tenant)]
    return CapsPublic(data=caps, count=len(caps))


@router.post("", response_model=CapPublic, status_code=201, summary="Create a spending cap")
def create_cap(body: CapIn, request: Request, principal: AdminPrincipal, store: StoreDep) -> CapPublic:
    if len(store.list_caps(principal.tenant)) >= MAX_CAPS:
        raise HTTPException(409, f"a tenant has at most {MAX_CAPS} caps; delete some first "
                                 "(per-customer limits are one 'each_customer' cap)")
    _check_webhooks(request, body.webhooks)
    cap = store.put_cap(principal.tenant, _stored(new_cap_id(), body, datetime.now(timezone.utc)))
    caps_changed(request, principal.tenant)
    return _public(cap)


@router.get("/{cap_id}", response_model=CapStatusPublic, summary="One spending cap and where it stands")
def get_cap(cap_id: str, request: Request, principal: ReadPrincipal, store: StoreDep) -> CapStatusPublic:
    cap = find_cap(store, principal.tenant, cap_id)
    return _status_public(evaluate(store, principal.tenant, [cap], _clock(request))[0])


@router.patch("/{cap_id}", response_model=CapPublic, summary="Change some fields of a spending cap")
def patch_cap(cap_id: str, body: CapPatch, request: Request, principal: AdminPrincipal, store: StoreDep) -> CapPublic:
    current = find_cap(store, principal.tenant, cap_id)
    fields = _public(current).model_dump(exclude={"id", "created_at", "updated_at"})
    try:
        changed = body.applied_to(fields)
    except ValidationError as exc:  # the change makes an invalid cap: the caller's mistake, a 422
        raise RequestValidationError(exc.errors(include_url=False)) from None
    _check_webhooks(request, changed.webhooks)
    cap = store.put_cap(principal.tenant, _stored(cap_id, changed, current.created_at))
    caps_changed(request, principal.tenant)
    return _public(cap)


@router.delete("/{cap_id}", status_code=204, summary="Delete a spending cap")
def delete_cap(cap_id: str, request: Request, principal: AdminPrincipal, store: StoreDep) -> Response:
    find_cap(store, principal.tenant, cap_id)
    store.delete_cap(principal.tenant, cap_id)
    caps_changed(request, principal.tenant)
    return Response(status_code=204)
