"""Alert history, and test notifications that exercise a cap's recipients and webhooks."""

from __future__ import annotations

import secrets
from dataclasses import replace

from fastapi import APIRouter, HTTPException, Query, Request

from llmobserve.storage import StoredAlert

from .._cap_monitor import alert_message
from .._cap_status import evaluate
from .._cap_status_models import AlertPublic, AlertsPublic, DeliveryPublic, TestPublic
from .._money import exact_text
from ..deps import AdminPrincipal, ReadPrincipal, StoreDep
from .caps import find_cap

router = APIRouter(tags=["caps"])


def _public(alert: StoredAlert) -> AlertPublic:
    return AlertPublic(id=alert.alert_id, cap_id=alert.cap_id, cap_name=alert.cap_name, scope=alert.scope,
                       subject=alert.subject, threshold=exact_text(alert.threshold), spend_usd=exact_text(alert.spend_usd),
                       limit_usd=exact_text(alert.limit_usd), period=alert.period, period_start=alert.period_start,
                       resets_at=alert.resets_at, fired_at=alert.fired_at, test=alert.test, delivered=alert.delivered,
                       deliveries=[DeliveryPublic.model_validate(d) for d in alert.deliveries])


@router.get("/api/v1/alerts", response_model=AlertsPublic, summary="Alert history, newest first")
def list_alerts(principal: ReadPrincipal, store: StoreDep,
                cap_id: str | None = Query(None, max_length=64, description="only this cap's alerts"),
                limit: int = Query(100, ge=1, le=1000)) -> AlertsPublic:
    alerts = [_public(a) for a in store.list_alerts(principal.tenant, cap_id, limit)]
    return AlertsPublic(data=alerts, count=len(alerts))


@router.post("/api/v1/caps/{cap_id}/test", response_model=TestPublic,
             summary="Send a test notification to the cap's recipients and webhooks")
def test_notification(cap_id: str, request: Request, principal: AdminPrincipal, store: StoreDep) -> TestPublic:
    """Sends now, with the cap's current spend, marked as a test; waits for the deliveries and
    records them in the alert history."""
    cap = find_cap(store, principal.tenant, cap_id)
    if not cap.recipients and not cap.webhooks:
        raise HTTPException(409, "this cap has no recipients and no webhooks to notify")
    status = evaluate(store, principal.tenant, [cap], request.app.state.caps_clock)[0]
    alert = StoredAlert("alert_" + secrets.token_hex(8), cap.cap_id, cap.name, cap.scope,
                        cap.value if cap.scope != "each_customer" else "", cap.thresholds[-1], status.spend,
                        cap.limit_usd, cap.period, status.period_start, status.resets_at,
                        request.app.state.caps_clock(), test=True)
    message = alert_message(principal.tenant, alert, cap, request.app.state.public_url)
    deliveries = request.app.state.notifier.deliver(message, cap.recipients, cap.webhooks)
    alert = replace(alert, delivered=True, deliveries=tuple(d.as_dict() for d in deliveries))
    store.put_alert(principal.tenant, alert)
    return TestPublic(alert=_public(alert))
