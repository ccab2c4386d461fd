"""Response bodies of cap status, checks, reservations and alert history."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ._cap_models import CapPublic

__all__ = ["AlertPublic", "AlertsPublic", "BlockedBy", "CapStatusPublic", "CheckPublic", "CustomerSpend",
           "RatesPublic", "ReservationIn", "ReservationPublic", "ReservationsPublic", "SettleIn", "SettlePublic",
           "StatusPublic", "TestPublic"]

State = Literal["ok", "warning", "exceeded", "disabled"]
_NAME = Field("", max_length=256)


class CustomerSpend(BaseModel):
    customer: str
    spend_usd: str
    percent: float
    state: State


class CapStatusPublic(CapPublic):
    period_start: datetime
    resets_at: datetime | None = Field(description="when the period ends and spend starts again at 0; null for total")
    spend_usd: str = Field(description="exact; for each_customer, the spend of the customer nearest the limit")
    percent: float
    state: State
    customers: list[CustomerSpend] | None = Field(
        None, description="each_customer only: customers at or over the lowest threshold, and any asked for")


class RatesPublic(BaseModel):
    input_per_mtok: str
    output_per_mtok: str
    cache_read_per_mtok: str
    cache_write_per_mtok: str


class StatusPublic(BaseModel):
    as_of: datetime
    caps: list[CapStatusPublic]
    rates: dict[str, RatesPublic] = Field(default_factory=dict,
                                          description="USD per million tokens of each `provider/model` asked for")


class BlockedBy(BaseModel):
    cap_id: str
    name: str
    scope: str
    value: str | None
    customer: str | None = None
    spend_usd: str
    limit_usd: str
    resets_at: datetime | None


class CheckPublic(BaseModel):
    allowed: bool
    blocked_by: list[BlockedBy]


class ReservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = _NAME
    model: str = _NAME
    agent: str = _NAME
    customer: str = _NAME
    service: str = _NAME
    input_bytes: int = Field(0, ge=0, le=512 * 1024 * 1024, description="the request body's size: at most one token per byte")
    max_output_tokens: int | None = Field(None, ge=0, le=10_000_000,
                                          description="the request's output limit; null: the default worst case")


class ReservationPublic(BaseModel):
    id: str | None = Field(description="null when no hard-block cap applies: nothing to settle")
    reserved_usd: str
    expires_at: datetime | None = None


class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_tokens: int = Field(0, ge=0, le=100_000_000, description="as the provider reported, cached included")
    output_tokens: int = Field(0, ge=0, le=100_000_000)
    cache_read_tokens: int = Field(0, ge=0, le=100_000_000)
    cache_write_tokens: int = Field(0, ge=0, le=100_000_000)


class SettlePublic(BaseModel):
    id: str
    cost_usd: str


class ReservationsPublic(BaseModel):
    open: int
    reserved_usd: str


class DeliveryPublic(BaseModel):
    channel: str
    target: str
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

