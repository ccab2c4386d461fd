"""What billing is told by the settings: the Stripe secrets and price, the free allowance, the grace period."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["API_VERSION", "STRIPE_HOSTED", "BillingConfig"]

API_VERSION = "2026-10-28.endive"
"""The Stripe API version every request names (the one the installed ``stripe`` library was built for):
an account's default version changing in the Stripe dashboard never changes what we parse."""

STRIPE_HOSTED = ("https://checkout.stripe.com", "https://billing.stripe.com")
"""Where Stripe's Checkout and customer portal pages are."""


@dataclass(frozen=True, slots=True)
class BillingConfig:
    secret_key: str
    webhook_secret: str | None
    price_pro: str | None
    free_spans: int = 100_000
    """Spans a free workspace may send per calendar month (UTC)."""
    grace_days: int = 7
    """A ``past_due`` subscription keeps ``pro`` this long after the first failed payment, while Stripe retries."""
    price_label: str = "$8 per month"
    """The pro price as the Pricing and Billing pages say it (Stripe charges what its Price says)."""
    api_base: str | None = None
    """Another Stripe API host (a stand-in in tests); None: api.stripe.com."""
    hosted_origins: tuple[str, ...] = STRIPE_HOSTED
    """Where the Checkout and portal pages are (the dashboard's forms redirect there)."""
    timeout_s: float = 10.0
    max_network_retries: int = 2
    plan_ttl_s: float = 2.0
    """How long ingest trusts a workspace's plan and usage before reading them again."""
