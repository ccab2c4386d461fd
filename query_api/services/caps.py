"""Spending caps of a tenant: create, change, delete, list, and where each stands (status, check)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from llmobserve.caps import CapStatus, applies_to, blocking, evaluate, rates, state_of
from llmobserve.caps.notify import literal_blocked_reason, redacted_url
from llmobserve.control import MAX_CAPS, ControlStore, Principal, StoredCap, new_cap_id, new_webhook_secret
from llmobserve.pricing import exact_text

from ..schemas.caps import (
    SCOPED,
    BlockedBy,
    CapCreated,
    CapIn,
    CapPatch,
    CapPublic,
    CapsPublic,
    CapStatusPublic,
    CheckPublic,
    CustomerSpend,
    RatesPublic,
    StatusPublic,
    WebhookSecretPublic,
)
from .errors import Conflict, Invalid, NotFound
from .people import record
from .recipients import View, ask_to_confirm, polled_recipients, recipient_status, view_of

if TYPE_CHECKING:
    from ._services import Services

__all__ = [
    "blocked_by",
    "caps_check",
    "caps_status",
    "create_cap",
    "delete_cap",
    "find_cap",
    "get_cap",
    "list_caps",
    "patch_cap",
    "redacted_url",
    "rotate_webhook_secret",
    "shown_webhooks",
]

_CAP_ID = re.compile(r"^cap_[0-9a-f]{16}$")


def shown_webhooks(urls: Iterable[str], admin: bool) -> list[str]:
    return list(urls) if admin else [redacted_url(url) for url in urls]


def public(cap: StoredCap, view: View) -> CapPublic:
    return CapPublic(
        id=cap.cap_id,
        name=cap.name,
        scope=cap.scope,
        value=cap.value if cap.scope in SCOPED else None,
        period=cap.period,
        time_zone=cap.time_zone,
        limit_usd=exact_text(cap.limit_usd),
        thresholds=[exact_text(t) for t in cap.thresholds],
        enforcement=cap.enforcement,
        recipients=list(cap.recipients),
        recipients_status=[recipient_status(a, view.recipients.get(a.lower()), view) for a in cap.recipients],
        webhooks=shown_webhooks(cap.webhooks, view.admin),
        enabled=cap.enabled,
        created_at=cap.created_at,
        updated_at=cap.updated_at,
    )


def _editable(cap: StoredCap) -> dict[str, Any]:
    """The cap as a ``CapIn`` body (webhooks in full: a change is saved from it)."""
    return {
        "name": cap.name,
        "scope": cap.scope,
        "value": cap.value if cap.scope in SCOPED else None,
        "period": cap.period,
        "time_zone": cap.time_zone,
        "limit_usd": exact_text(cap.limit_usd),
        "thresholds": [exact_text(t) for t in cap.thresholds],
        "enforcement": cap.enforcement,
        "recipients": list(cap.recipients),
        "webhooks": list(cap.webhooks),
        "enabled": cap.enabled,
    }


def _stored(cap_id: str, body: CapIn, created_at: datetime, webhook_secret: str) -> StoredCap:
    return StoredCap(
        cap_id,
        body.name,
        body.scope,
        body.value or "",
        body.period,
        body.time_zone,
        Decimal(body.limit_usd),
        tuple(body.thresholds),
        body.enforcement,
        tuple(body.recipients),
        tuple(body.webhooks),
        body.enabled,
        created_at,
        created_at,
        webhook_secret,
    )


def find_cap(control: ControlStore, tenant: str, cap_id: str) -> StoredCap:
    """The cap, or NotFound: another tenant's cap id reads exactly as an unknown one."""
    found = control.list_caps(tenant, cap_id) if _CAP_ID.match(cap_id) else []
    if not found:
        raise NotFound(f"no cap {cap_id!r}")
    return found[0]


def _check_webhooks(svc: Services, webhooks: list[str]) -> None:
    """Invalid for a webhook this server may not call (see ``caps.notify``'s policy), before it is saved."""
    if svc.webhooks_allow_private:
        return
    problems = [
        {
            "type": "value_error",
            "loc": ("body", "webhooks", i),
            "input": url,
            "msg": f"{reason}: webhooks must reach a public address (the operator can allow private ones "
            "with LLMOBSERVE_WEBHOOKS_ALLOW_PRIVATE=true)",
        }
        for i, url in enumerate(webhooks)
        if (reason := literal_blocked_reason(url)) is not None
    ]
    if problems:
        raise Invalid(problems)


def _percent(spend: Decimal, limit: Decimal) -> float:
    return float(round(spend * 100 / limit, 4))


def _status_public(status: CapStatus, view: View, asked: frozenset[str] = frozenset()) -> CapStatusPublic:
    cap = status.cap
    customers = None
    if cap.scope == "each_customer":
        near = min(cap.thresholds) * cap.limit_usd
        shown = sorted(
            ((c, s) for c, s in status.by_customer.items() if s >= near or c in asked),
            key=lambda item: (-item[1], item[0]),
        )[:1000]
        shown += [(c, Decimal(0)) for c in sorted(asked - status.by_customer.keys())]
        customers = [
            CustomerSpend(
                customer=c, spend_usd=exact_text(s), percent=_percent(s, cap.limit_usd), state=state_of(cap, s)
            )
            for c, s in shown
        ]
    return CapStatusPublic(
        **public(cap, view).model_dump(),
        period_start=status.period_start,
        resets_at=status.resets_at,
        spend_usd=exact_text(status.spend),
        percent=_percent(status.spend, cap.limit_usd),
        state=state_of(cap, status.spend),
        customers=customers,
    )


def _statuses(svc: Services, tenant: str, caps: list[StoredCap], clock: Callable[[], datetime]) -> list[CapStatus]:
    """``evaluate``, shared by every poller of the tenant (see ``caps``' status cache)."""
    return svc.cap_statuses.statuses(tenant, caps, lambda: evaluate(svc.store, tenant, caps, clock))


def caps_status(
    svc: Services, tenant: str, customers: list[str], models: list[str], reader: bool, admin: bool = False
) -> StatusPublic:
    """Where each cap stands; ``models`` (``provider/model``) adds their per-token rates. ``reader``:
    the caller may read (an app's ingest-only key sees where caps stand, not who gets told);
    ``admin``: it sees webhook URLs in full."""
    now = svc.caps_clock()
    statuses = _statuses(svc, tenant, svc.control.list_caps(tenant), lambda: now)
    asked = frozenset(c for c in customers if c)
    found: dict[str, RatesPublic] = {}
    custom = svc.prices.for_tenant(tenant)
    for name in models[:50]:
        provider, _, model_name = name.partition("/")
        if model_name and (known := rates(svc.pricer, custom, provider, model_name)) is not None:
            found[name] = RatesPublic(**known)
    told = reader and any(s.cap.recipients for s in statuses)
    view = View(polled_recipients(svc, tenant) if told else {}, now, admin)
    caps = [_status_public(s, view, asked) for s in statuses]
    if not reader:
        caps = [c.model_copy(update={"recipients": [], "recipients_status": [], "webhooks": []}) for c in caps]
    return StatusPublic(as_of=now, caps=caps, rates=found)


def blocked_by(statuses: list[tuple[CapStatus, str, Decimal]]) -> list[BlockedBy]:
    return [
        BlockedBy(
            cap_id=s.cap.cap_id,
            name=s.cap.name,
            scope=s.cap.scope,
            value=s.cap.value if s.cap.scope in SCOPED else None,
            customer=subject if s.cap.scope == "each_customer" else None,
            spend_usd=exact_text(spend),
            limit_usd=exact_text(s.cap.limit_usd),
            resets_at=s.resets_at,
        )
        for s, subject, spend in statuses
    ]


def caps_check(svc: Services, tenant: str, labels: dict[str, str]) -> CheckPublic:
    """Would a call with these labels be blocked now? Only enabled ``hard_block`` caps block."""
    caps = svc.control.list_caps(tenant)
    over = []
    hard = {cap.cap_id for cap in blocking(caps)}
    for status in _statuses(svc, tenant, caps, svc.caps_clock):
        if status.cap.cap_id not in hard:
            continue
        subject = applies_to(status.cap, labels)
        spend = status.subjects().get(subject, Decimal(0)) if subject is not None else Decimal(0)
        if subject is not None and spend >= status.cap.limit_usd:
            over.append((status, subject, spend))
    return CheckPublic(allowed=not over, blocked_by=blocked_by(over))


def list_caps(svc: Services, tenant: str, admin: bool) -> CapsPublic:
    view = view_of(svc, tenant, admin)
    caps = [public(c, view) for c in svc.control.list_caps(tenant)]
    return CapsPublic(data=caps, count=len(caps))


def create_cap(svc: Services, tenant: str, body: CapIn, by: Principal | None = None) -> CapCreated:
    """Create; the answer holds the cap's webhook secret, which no read shows again."""
    if len(svc.control.list_caps(tenant)) >= MAX_CAPS:
        raise Conflict(
            f"a tenant has at most {MAX_CAPS} caps; delete some first (per-customer limits are one 'each_customer' cap)"
        )
    _check_webhooks(svc, body.webhooks)
    cap = svc.control.put_cap(tenant, _stored(new_cap_id(), body, datetime.now(UTC), new_webhook_secret()))
    svc.caps_changed(tenant)
    record(svc.control, tenant, by, "cap.create", cap.cap_id, name=cap.name, limit_usd=str(cap.limit_usd))
    notes = ask_to_confirm(svc, tenant, cap.recipients)
    shown = public(cap, view_of(svc, tenant, admin=True, notes=notes))
    return CapCreated(**shown.model_dump(), webhook_secret=cap.webhook_secret)


def get_cap(svc: Services, tenant: str, cap_id: str, admin: bool) -> CapStatusPublic:
    cap = find_cap(svc.control, tenant, cap_id)
    return _status_public(evaluate(svc.store, tenant, [cap], svc.caps_clock)[0], view_of(svc, tenant, admin))


def patch_cap(svc: Services, tenant: str, cap_id: str, body: CapPatch, by: Principal | None = None) -> CapPublic:
    current = find_cap(svc.control, tenant, cap_id)
    try:
        changed = body.applied_to(_editable(current))
    except ValidationError as exc:  # the change makes an invalid cap: the caller's mistake
        raise Invalid(exc.errors(include_url=False)) from None
    _check_webhooks(svc, changed.webhooks)
    cap = svc.control.put_cap(tenant, _stored(cap_id, changed, current.created_at, current.webhook_secret))
    svc.caps_changed(tenant)
    record(svc.control, tenant, by, "cap.update", cap_id, fields=sorted(body.model_fields_set))
    notes = ask_to_confirm(svc, tenant, cap.recipients)
    return public(cap, view_of(svc, tenant, admin=True, notes=notes))


def rotate_webhook_secret(svc: Services, tenant: str, cap_id: str, by: Principal | None = None) -> WebhookSecretPublic:
    """A new secret for the cap's webhook signatures, returned this once."""
    current = find_cap(svc.control, tenant, cap_id)
    cap = svc.control.put_cap(tenant, replace(current, webhook_secret=new_webhook_secret()))
    svc.caps_changed(tenant)  # the monitor signs with the cap it holds: it must read the new one
    record(svc.control, tenant, by, "cap.webhook_secret", cap_id)
    return WebhookSecretPublic(cap_id=cap.cap_id, webhook_secret=cap.webhook_secret)


def delete_cap(svc: Services, tenant: str, cap_id: str, by: Principal | None = None) -> StoredCap:
    """Delete; returns the cap as it was."""
    cap = find_cap(svc.control, tenant, cap_id)
    svc.control.delete_cap(tenant, cap_id)
    svc.caps_changed(tenant)
    record(svc.control, tenant, by, "cap.delete", cap_id, name=cap.name)
    return cap
