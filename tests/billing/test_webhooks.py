"""Stripe's webhooks, verified and applied once, in any order, on SQLite and PostgreSQL: the state
written is the subscription as Stripe has it when the event is handled."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
import stripe
from sqlalchemy import func, select

from llmobserve.billing import Billing, BillingError, StripeUnavailable, WebhookRefused
from llmobserve.control import ControlStore
from llmobserve.control._billing_schema import BILLING_ACCOUNTS, STRIPE_EVENTS
from tests.standin.stripe_api import StandInStripe

TEAM = "team-a"


def _send(billing: Billing, standin: StandInStripe, event: dict[str, Any], **sign: Any) -> str:
    payload = json.dumps(event, indent=2).encode()
    return billing.webhook(payload, standin.sign(payload, **sign))


def _count(store: ControlStore, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]  # a Table


def _subscribed(billing: Billing, standin: StandInStripe) -> tuple[str, list[dict[str, Any]]]:
    """Checkout through the stand-in: (subscription id, the events Stripe made, in its order)."""
    billing.records._store.ensure_tenant(TEAM)  # noqa: SLF001 - the test's own store
    url = billing.checkout(TEAM, "http://app.example", "ada@example.com", "Team A")
    session_id = url.rsplit("/", 1)[1]
    before = len(standin.events)
    subscription = standin.complete_checkout(session_id)
    return subscription["id"], standin.events[before:]


def test_bad_missing_stale_or_tampered_signatures_change_nothing(
    billing: Billing, stripe_api: StandInStripe, stores: list[ControlStore]
) -> None:
    _, events = _subscribed(billing, stripe_api)
    event = events[0]
    payload = json.dumps(event).encode()
    cases = {
        "wrong secret": (payload, stripe_api.sign(payload, secret="whsec_other")),
        "stale": (payload, stripe_api.sign(payload, timestamp=int(time.time()) - 301)),
        "tampered": (payload.replace(b"active", b"canceled"), stripe_api.sign(payload)),
        "missing": (payload, None),
        "not an event": (b"{", stripe_api.sign(b"{")),
    }
    for name, (body, signature) in cases.items():
        with pytest.raises(WebhookRefused) as refused:
            billing.webhook(body, signature)
        assert refused.value.status == 400, name
    assert _count(stores[0], STRIPE_EVENTS) == 0 and billing.records.account(TEAM).status is None
    assert _count(stores[1], BILLING_ACCOUNTS) == 1  # the customer made at checkout, no subscription


def test_checkout_events_in_reverse_order_and_twice_end_active_and_apply_once(
    billing: Billing, stripe_api: StandInStripe, stores: list[ControlStore]
) -> None:
    sub_id, events = _subscribed(billing, stripe_api)
    assert [e["type"] for e in events] == [
        "customer.subscription.created",
        "checkout.session.completed",
        "invoice.paid",
    ]
    assert [_send(billing, stripe_api, e) for e in reversed(events)] == ["applied"] * 3
    account = billing.records.account(TEAM)
    assert (account.status, account.subscription_id, account.price_id) == ("active", sub_id, "price_pro")
    assert billing.status(TEAM).plan == "pro"
    retrieves = sum(1 for r in stripe_api.requests if r.path == f"/v1/subscriptions/{sub_id}")
    # a replay (duplicate delivery) applies nothing and asks Stripe nothing
    assert [_send(billing, stripe_api, e) for e in events] == ["duplicate"] * 3
    assert sum(1 for r in stripe_api.requests if r.path == f"/v1/subscriptions/{sub_id}") == retrieves
    assert _count(stores[1], STRIPE_EVENTS) == 3


def test_deleted_before_updated_ends_canceled(billing: Billing, stripe_api: StandInStripe) -> None:
    sub_id, events = _subscribed(billing, stripe_api)
    _send(billing, stripe_api, events[1])
    _, updated = stripe_api.set_subscription(sub_id, cancel_at_period_end=True)
    billing.client.v1.subscriptions.cancel(sub_id)
    deleted = stripe_api.events[-1]
    assert deleted["type"] == "customer.subscription.deleted"
    assert _send(billing, stripe_api, deleted) == "applied"
    assert _send(billing, stripe_api, updated) == "applied"
    status = billing.status(TEAM)
    assert (status.status, status.plan) == ("canceled", "free")


def test_updated_twice_in_reverse_order_ends_in_the_newest_state(billing: Billing, stripe_api: StandInStripe) -> None:
    sub_id, events = _subscribed(billing, stripe_api)
    _send(billing, stripe_api, events[1])
    _, first = stripe_api.set_subscription(sub_id, status="past_due")
    _, second = stripe_api.set_subscription(sub_id, status="active", cancel_at_period_end=True)
    _send(billing, stripe_api, second)
    _send(billing, stripe_api, first)
    account = billing.records.account(TEAM)
    assert (account.status, account.cancel_at_period_end, account.past_due_since) == ("active", True, None)


def test_past_due_keeps_pro_for_the_grace_period(billing: Billing, stripe_api: StandInStripe) -> None:
    sub_id, events = _subscribed(billing, stripe_api)
    _, failed = stripe_api.set_subscription(sub_id, status="past_due")
    _send(billing, stripe_api, failed)
    account = billing.records.account(TEAM)
    assert account.status == "past_due" and account.past_due_since is not None
    assert billing.status(TEAM).plan == "pro"
    later = account.past_due_since + timedelta(days=billing.config.grace_days, seconds=1)
    assert billing.status(TEAM, now=later).plan == "free"


def test_events_for_unknown_customers_are_recorded_and_answered(
    billing: Billing, stripe_api: StandInStripe, stores: list[ControlStore]
) -> None:
    customer = billing.client.v1.customers.create({"email": "someone@else.example"})
    event = stripe_api.make_event(
        "invoice.payment_failed", {"id": "in_1", "object": "invoice", "customer": customer.id}
    )
    assert _send(billing, stripe_api, event) == "unknown customer"
    assert _send(billing, stripe_api, event) == "duplicate"
    ignored = stripe_api.make_event("customer.created", {"id": customer.id, "object": "customer"})
    assert _send(billing, stripe_api, ignored) == "applied"
    assert [e["outcome"] for e in billing.records.events()] == ["ignored", "unknown customer"]
    assert _count(stores[0], BILLING_ACCOUNTS) == 0


def test_stripe_down_answers_503_and_records_nothing_so_the_redelivery_applies(
    billing: Billing, stripe_api: StandInStripe
) -> None:
    sub_id, events = _subscribed(billing, stripe_api)
    stripe_api.fail_next(500, path=f"/v1/subscriptions/{sub_id}")
    with pytest.raises(StripeUnavailable):
        _send(billing, stripe_api, events[0])
    assert billing.records.events() == []
    assert _send(billing, stripe_api, events[0]) == "applied"
    assert billing.records.account(TEAM).status == "active"


def test_every_create_carries_our_idempotency_key_and_the_api_version(
    billing: Billing, stripe_api: StandInStripe
) -> None:
    _, events = _subscribed(billing, stripe_api)
    _send(billing, stripe_api, events[1])
    billing.portal(TEAM, "http://app.example")
    posts = [r for r in stripe_api.requests if r.method == "POST" and r.path.startswith("/v1/")]
    assert {r.path for r in posts} == {"/v1/customers", "/v1/checkout/sessions", "/v1/billing_portal/sessions"}
    assert all((r.idempotency_key or "").startswith("llmo-") for r in posts)
    assert {r.stripe_version for r in stripe_api.requests if r.path.startswith("/v1/")} == {stripe.api_version}
    session = stripe_api.objects("checkout.session")[0]
    assert session["client_reference_id"] == TEAM and session["metadata"] == {"workspace": TEAM}
    # a second checkout while subscribed is refused: one subscription per workspace
    with pytest.raises(BillingError) as refused:
        billing.checkout(TEAM, "http://app.example", "ada@example.com", "Team A")
    assert refused.value.status == 409 and len(stripe_api.objects("customer")) == 1


def test_a_code_bound_to_a_stripe_promotion_code_is_applied_at_checkout(
    billing: Billing, stripe_api: StandInStripe
) -> None:
    billing.records._store.ensure_tenant(TEAM)  # noqa: SLF001
    promotion = stripe_api.add_promotion_code("HALF", percent_off=50)
    billing.records.create_promo("HALF-OFF", 1, 10, None, stripe_promotion_code=promotion)
    result, url = billing.redeem(TEAM, "half-off", "http://app.example", None, "Team A")
    assert result == "checkout" and url is not None
    (created,) = [r for r in stripe_api.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"]
    assert created.params["discounts"] == [{"promotion_code": promotion}]
    assert "allow_promotion_codes" not in created.params
    assert billing.records.account(TEAM).promo_until is None  # Stripe grants the discount, not us


def test_back_from_checkout_before_the_webhook_the_page_already_shows_pro(
    billing: Billing, stripe_api: StandInStripe
) -> None:
    _, events = _subscribed(billing, stripe_api)  # paid; no event delivered yet
    session_id = stripe_api.objects("checkout.session")[-1]["id"]
    assert not billing.sync_checkout("team-b", session_id)  # another workspace's session writes nothing
    assert not billing.sync_checkout(TEAM, "cs_test_no_such_session")
    assert billing.status(TEAM).plan == "free"
    assert billing.sync_checkout(TEAM, session_id)
    assert (billing.status(TEAM).plan, billing.status(TEAM).status) == ("pro", "active")
    assert [_send(billing, stripe_api, e) for e in events] == ["applied"] * 3  # then the webhooks, alike
    assert billing.status(TEAM).status == "active"
