"""The plan, usage and Stripe links of a workspace."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["BillingPublic", "BillingUrl", "PromoRedeem", "PromoRedeemed", "WebhookReceived"]


class BillingPublic(BaseModel):
    plan: Literal["free", "pro"]
    reason: str = Field(description="why this plan: the subscription's status, a promo code, the grace period")
    plan_until: datetime | None = Field(description="when the reason for this plan ends, when known")
    status: str | None = Field(description="the Stripe subscription's status; null: never subscribed")
    current_period_end: datetime | None
    cancel_at_period_end: bool
    promo_until: datetime | None
    has_customer: bool = Field(description="a Stripe customer exists: the customer portal can be opened")
    month: date = Field(description="the first day (UTC) of the month counted")
    spans_used: int = Field(description="spans accepted this month")
    spans_allowance: int | None = Field(description="spans the plan allows per month; null: unlimited")
    spans_refused_month: int
    spans_refused_today: int


class BillingUrl(BaseModel):
    url: str = Field(description="where to send the person's browser (Stripe Checkout or the customer portal)")


class PromoRedeem(BaseModel):
    code: str = Field(min_length=1, max_length=64)


class PromoRedeemed(BaseModel):
    result: Literal["granted", "checkout"] = Field(
        description="`granted`: pro for the code's months, now; `checkout`: a discount Stripe applies at `url`"
    )
    url: str | None
    billing: BillingPublic


class WebhookReceived(BaseModel):
    received: bool = True
    outcome: str = Field(description="applied | recorded | unknown customer | ignored | duplicate")
