"""Alert history, and test notifications that exercise a cap's recipients and webhooks."""

from __future__ import annotations

from fastapi import APIRouter, Query

from ..deps import AdminPrincipal, ReadPrincipal, ServicesDep
from ..schemas.alerts import AlertsPublic, TestPublic
from ..services import alerts

router = APIRouter(tags=["caps"])


@router.get("/api/v1/alerts", response_model=AlertsPublic, summary="Alert history, newest first")
def list_alerts(
    principal: ReadPrincipal,
    svc: ServicesDep,
    cap_id: str | None = Query(None, max_length=64, description="only this cap's alerts"),
    limit: int = Query(100, ge=1, le=1000),
) -> AlertsPublic:
    return alerts.list_alerts(svc.control, principal.tenant, cap_id, limit, admin=principal.allows("admin"))


@router.post(
    "/api/v1/caps/{cap_id}/test",
    response_model=TestPublic,
    status_code=202,
    summary="Queue a test notification to the cap's recipients and webhooks",
    responses={429: {"description": "more than 10 test notifications this minute in this workspace"}},
)
def test_notification(cap_id: str, principal: AdminPrincipal, svc: ServicesDep) -> TestPublic:
    """Answers at once with the test alert (``delivered: false``); its deliveries are recorded in the
    alert history (``GET /api/v1/alerts?cap_id=``) when they end, within seconds."""
    return alerts.test_notification(svc, principal.tenant, cap_id)
