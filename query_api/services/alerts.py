"""Alert history, and test notifications that exercise a cap's recipients and webhooks."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import TYPE_CHECKING

from llmobserve.caps import alert_message, evaluate
from llmobserve.pricing import exact_text
from llmobserve.storage import Store, StoredAlert

from ..schemas.alerts import AlertPublic, AlertsPublic, DeliveryPublic, TestPublic
from .caps import find_cap
from .errors import Conflict

if TYPE_CHECKING:
    from ._services import Services

__all__ = ["list_alerts", "public", "test_notification"]


def public(alert: StoredAlert) -> AlertPublic:
    return AlertPublic(
        id=alert.alert_id,
        cap_id=alert.cap_id,
        cap_name=alert.cap_name,
        scope=alert.scope,
        subject=alert.subject,
        threshold=exact_text(alert.threshold),
        spend_usd=exact_text(alert.spend_usd),
        limit_usd=exact_text(alert.limit_usd),
        period=alert.period,
        period_start=alert.period_start,
        resets_at=alert.resets_at,
        fired_at=alert.fired_at,
        test=alert.test,
        delivered=alert.delivered,
        deliveries=[DeliveryPublic.model_validate(d) for d in alert.deliveries],
    )


def list_alerts(store: Store, tenant: str, cap_id: str | None, limit: int) -> AlertsPublic:
    alerts = [public(a) for a in store.list_alerts(tenant, cap_id, limit)]
    return AlertsPublic(data=alerts, count=len(alerts))


def test_notification(svc: Services, tenant: str, cap_id: str) -> TestPublic:
    """Send now, with the cap's current spend, marked as a test; waits for the deliveries and records
    them in the alert history."""
    cap = find_cap(svc.store, tenant, cap_id)
    if not cap.recipients and not cap.webhooks:
        raise Conflict("this cap has no recipients and no webhooks to notify")
    status = evaluate(svc.store, tenant, [cap], svc.caps_clock)[0]
    alert = StoredAlert(
        "alert_" + secrets.token_hex(8),
        cap.cap_id,
        cap.name,
        cap.scope,
        cap.value if cap.scope != "each_customer" else "",
        cap.thresholds[-1],
        status.spend,
        cap.limit_usd,
        cap.period,
        status.period_start,
        status.resets_at,
        svc.caps_clock(),
        test=True,
    )
    message = alert_message(tenant, alert, cap, svc.public_url)
    deliveries = svc.notifier.deliver(message, cap.recipients, cap.webhooks)
    alert = replace(alert, delivered=True, deliveries=tuple(d.as_dict() for d in deliveries))
    svc.store.put_alert(tenant, alert)
    return TestPublic(alert=public(alert))
