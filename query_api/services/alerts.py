"""Alert history, and test notifications that exercise a cap's recipients and webhooks."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

from llmobserve.caps import evaluate, send_alerts
from llmobserve.control import ControlStore, StoredAlert
from llmobserve.pricing import exact_text

from ..schemas.alerts import AlertPublic, AlertsPublic, DeliveryPublic, TestPublic
from .caps import find_cap, redacted_url
from .errors import Conflict, RateLimited

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


def list_alerts(
    control: ControlStore, tenant: str, cap_id: str | None, limit: int, admin: bool = False
) -> AlertsPublic:
    """``admin``: webhook URLs in full; other callers see their scheme and host (a path may be a secret)."""
    alerts = [
        public(a) if admin else _without_webhook_paths(public(a)) for a in control.list_alerts(tenant, cap_id, limit)
    ]
    return AlertsPublic(data=alerts, count=len(alerts))


_URL = re.compile(r"https?://[^\s'\"<>]+")


def _without_webhook_paths(alert: AlertPublic) -> AlertPublic:
    # An error may quote the URL too (an invalid one, a redirect's Location).
    deliveries = [
        d.model_copy(
            update={"target": redacted_url(d.target), "error": _URL.sub(lambda m: redacted_url(m.group(0)), d.error)}
        )
        if d.channel == "webhook"
        else d
        for d in alert.deliveries
    ]
    return alert.model_copy(update={"deliveries": deliveries})


def test_notification(svc: Services, tenant: str, cap_id: str) -> TestPublic:
    """Queue a test notification, with the cap's current spend; the alert is recorded at once and its
    deliveries when they end (read them from the alert history). Never waits on a receiver."""
    if wait := svc.test_sends.admit(tenant):  # first: a refusal costs no storage read
        raise RateLimited(
            f"at most {svc.test_sends.limit} test notifications a minute per workspace; try again in {wait} s", wait
        )
    cap = find_cap(svc.control, tenant, cap_id)
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
    svc.control.put_alert(tenant, alert)  # before anyone hears: a restart still delivers it
    send_alerts(svc.control, svc.notifier, svc.public_url, tenant, [alert], cap)
    return TestPublic(alert=public(alert))
