"""Alert history and test notifications."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

__all__ = ["AlertPublic", "AlertsPublic", "DeliveryPublic", "TestPublic"]


class DeliveryPublic(BaseModel):
    channel: str
    target: str = Field(
        description="the e-mail addresses, or the webhook URL: in full for admin keys, scheme and host only for others"
    )
    ok: bool
    attempts: int
    status: int | None
    error: str
    at: datetime


class AlertPublic(BaseModel):
    id: str
    cap_id: str
    cap_name: str
    scope: str
    subject: str = Field(description="the cap's value, or the customer of an each_customer cap")
    threshold: str
    spend_usd: str
    limit_usd: str
    period: str
    period_start: datetime
    resets_at: datetime | None
    fired_at: datetime
    test: bool
    delivered: bool = Field(description="false while notifications are still being sent")
    deliveries: list[DeliveryPublic]


class AlertsPublic(BaseModel):
    data: list[AlertPublic]
    count: int


class TestPublic(BaseModel):
    alert: AlertPublic
