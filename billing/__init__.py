"""Billing: Stripe subscriptions, Checkout, the customer portal, webhooks, promo codes and plan limits at
ingest. Off unless ``STRIPE_SECRET_KEY`` is set; Stripe is the truth about subscriptions."""

from __future__ import annotations

from ._config import API_VERSION, STRIPE_HOSTED, BillingConfig
from ._gate import PlanGate
from ._plans import FREE, PRO, Plan, plan_of
from ._service import PROMO_PROBLEMS, Billing, BillingError, BillingStatus, StripeUnavailable, WebhookRefused

__all__ = [
    "API_VERSION",
    "FREE",
    "PRO",
    "PROMO_PROBLEMS",
    "STRIPE_HOSTED",
    "Billing",
    "BillingConfig",
    "BillingError",
    "BillingStatus",
    "Plan",
    "PlanGate",
    "StripeUnavailable",
    "WebhookRefused",
    "plan_of",
]
