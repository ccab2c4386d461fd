"""The Stripe client billing uses, and Stripe's objects read into ours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import stripe

from llmobserve.control import Subscription

from ._config import API_VERSION, BillingConfig

__all__ = ["event_refs", "make_client", "plain", "subscription_from"]


def make_client(config: BillingConfig) -> stripe.StripeClient:
    # httpx: already a dependency, and its timeout bounds a request (the library's default waits 80 s)
    return stripe.StripeClient(
        config.secret_key,
        stripe_version=API_VERSION,
        base_addresses={"api": config.api_base} if config.api_base else None,
        max_network_retries=config.max_network_retries,
        http_client=stripe.HTTPXClient(timeout=config.timeout_s, allow_sync_methods=True),
    )


def plain(obj: Any) -> Any:
    """A Stripe object as plain dicts and lists (a ``StripeObject`` is no dict and has no ``get``)."""
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else obj


def _get(obj: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(name)
    return obj


def _id(value: Any) -> str | None:
    """An id, whether Stripe sent the id or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return str(_get(value, "id"))


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def subscription_from(obj: Any, synced_at: datetime) -> Subscription:
    obj = plain(obj)
    items = _get(obj, "items", "data") or []
    first = items[0] if items else None
    # Since API version 2025-03-31 the billing period lives on each item, not on the subscription.
    period_end = _get(first, "current_period_end") or _get(obj, "current_period_end")
    return Subscription(
        id=str(_get(obj, "id")),
        customer_id=str(_id(_get(obj, "customer"))),
        status=str(_get(obj, "status")),
        price_id=_id(_get(first, "price")),
        current_period_end=_time(period_end),
        # The portal cancels "at period end" by either flag, depending on the API version and settings.
        cancel_at_period_end=bool(_get(obj, "cancel_at_period_end")) or bool(_get(obj, "cancel_at")),
        synced_at=synced_at,
    )


def event_refs(event_type: str, obj: Any) -> tuple[str | None, str | None, str | None]:
    """(our reference, subscription id, customer id) named by an event's object."""
    obj = plain(obj)
    customer = _id(_get(obj, "customer"))
    if event_type.startswith("checkout.session."):
        reference = _get(obj, "client_reference_id") or _get(obj, "metadata", "workspace")
        return reference, _id(_get(obj, "subscription")), customer
    if event_type.startswith("customer.subscription."):
        return _get(obj, "metadata", "workspace"), _id(_get(obj, "id")), customer
    if event_type.startswith("invoice."):
        details = _get(obj, "parent", "subscription_details")
        subscription = _id(_get(details, "subscription")) or _id(_get(obj, "subscription"))
        return _get(details, "metadata", "workspace"), subscription, customer
    return None, None, customer
