"""The Stripe stand-in against the official ``stripe`` library: the calls a subscription billing integration
makes answer in Stripe's shapes, errors raise the library's own classes, idempotency keys replay, the
hosted pages complete and cancel, and delivered events verify with ``stripe.Webhook.construct_event``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from tests.standin.stripe_api import API_VERSION, PERIOD_SECONDS, StandInStripe, parse_params
from tests.standin.webhooks import WebhookReceiver

SUCCESS_URL = "http://127.0.0.1:9/billing/success?session={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://127.0.0.1:9/billing"


@pytest.fixture(scope="module")
def shared_standin() -> Iterator[StandInStripe]:
    with StandInStripe(prices={"price_pro": 4900, "price_team": 9900}) as standin:
        yield standin


@pytest.fixture
def standin(shared_standin: StandInStripe) -> Iterator[StandInStripe]:
    shared_standin.reset()
    yield shared_standin
    assert shared_standin.errors == []


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as hooks:
        yield hooks


@pytest.fixture
def hooks(receiver: WebhookReceiver, standin: StandInStripe) -> Iterator[WebhookReceiver]:
    receiver.reset()
    standin.webhook_url = receiver.url_for("/stripe")
    yield receiver
    assert receiver.errors == []


@pytest.fixture
def client(standin: StandInStripe) -> stripe.StripeClient:
    return stripe.StripeClient(standin.secret_key, base_addresses={"api": standin.url}, max_network_retries=0)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5, follow_redirects=False) as browser:
        yield browser


def _session(client: stripe.StripeClient, **params: Any) -> stripe.checkout.Session:
    base: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [{"price": "price_pro", "quantity": 1}],
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
    }
    return client.v1.checkout.sessions.create({**base, **params})  # type: ignore[arg-type]


def _paid_subscription(client: stripe.StripeClient, standin: StandInStripe) -> tuple[str, str]:
    """A customer with an active subscription, paid through the stand-in's helper: (customer, subscription)."""
    customer = client.v1.customers.create({"email": "ada@example.com"})
    session = _session(client, customer=customer.id)
    subscription = standin.complete_checkout(session.id)
    return customer.id, subscription["id"]


# ----------------------------------------------------------------------------------------- parameters


def test_params_parse_as_the_library_encodes_them() -> None:
    body = (
        "metadata[workspace]=w1&metadata[0]=zero&line_items[0][price]=price_pro&line_items[0][quantity]=1"
        "&line_items[1][price]=price_team&discounts[0][promotion_code]=promo_x"
        "&subscription_data[metadata][workspace]=w1&expand[0]=subscription&expand[1]=customer"
        "&success_url=http%3A%2F%2Fx%2F%3Fs%3D%7BCHECKOUT_SESSION_ID%7D&allow_promotion_codes=true"
    )
    assert parse_params(body) == {
        "metadata": {"workspace": "w1", "0": "zero"},  # a dict whatever its keys look like
        "line_items": [{"price": "price_pro", "quantity": "1"}, {"price": "price_team"}],
        "discounts": [{"promotion_code": "promo_x"}],
        "subscription_data": {"metadata": {"workspace": "w1"}},
        "expand": ["subscription", "customer"],
        "success_url": "http://x/?s={CHECKOUT_SESSION_ID}",
        "allow_promotion_codes": "true",
    }


# ----------------------------------------------------------------------------------------- customers, errors


def test_customer_create_and_retrieve(client: stripe.StripeClient, standin: StandInStripe) -> None:
    created = client.v1.customers.create({"email": "ada@example.com", "name": "Ada", "metadata": {"workspace": "w1"}})
    assert created.id.startswith("cus_") and created.object == "customer"
    assert (created.email, created.name) == ("ada@example.com", "Ada")
    assert created.metadata is not None and created.metadata.to_dict() == {"workspace": "w1"}
    assert created.livemode is False and abs(created.created - time.time()) < 5

    fetched = client.v1.customers.retrieve(created.id)
    assert fetched.to_dict() == created.to_dict()

    post, get = standin.requests
    assert (post.method, post.path, post.params) == (
        "POST",
        "/v1/customers",
        {"email": "ada@example.com", "name": "Ada", "metadata": {"workspace": "w1"}},
    )
    assert post.idempotency_key and post.stripe_version == API_VERSION == stripe.api_version
    assert post.headers["authorization"] == f"Bearer {standin.secret_key}"
    assert (get.method, get.path, get.idempotency_key, get.stripe_version) == (
        "GET",
        f"/v1/customers/{created.id}",
        None,
        API_VERSION,
    )


def test_idempotency_key_replays_and_conflicts(client: stripe.StripeClient, standin: StandInStripe) -> None:
    first = client.v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "signup-1"})
    again = client.v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "signup-1"})
    assert again.id == first.id
    assert again.last_response is not None and again.last_response.headers["Idempotent-Replayed"] == "true"
    other = client.v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "signup-2"})
    assert other.id != first.id

    with pytest.raises(stripe.IdempotencyError) as raised:
        client.v1.customers.create({"email": "b@example.com"}, {"idempotency_key": "signup-1"})
    assert raised.value.http_status == 400 and "signup-1" in str(raised.value)
    assert raised.value.error is not None and raised.value.error.type == "idempotency_error"
    # four requests, two customers: neither the replay nor the conflict created one
    assert sum(1 for r in standin.requests if r.path == "/v1/customers") == 4
    assert [c["id"] for c in standin.objects("customer")] == [first.id, other.id]


def test_bad_api_key_is_an_authentication_error(standin: StandInStripe) -> None:
    wrong = stripe.StripeClient("sk_test_wrong_key_1234", base_addresses={"api": standin.url}, max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError) as raised:
        wrong.v1.customers.create({"email": "a@example.com"})
    assert raised.value.http_status == 401
    assert "Invalid API Key provided" in str(raised.value) and "wrong_key" not in str(raised.value)


def test_unknown_id_is_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.retrieve("cus_nope")
    error = raised.value
    assert (error.http_status, error.code, error.param) == (404, "resource_missing", "id")
    assert "No such customer: 'cus_nope'" in str(error)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.retrieve("sub_nope")
    assert raised.value.code == "resource_missing"


def test_unknown_and_unimplemented_params_are_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="Received unknown parameter: emial") as raised:
        client.v1.customers.create({"emial": "a@example.com"})  # type: ignore[arg-type]
    assert raised.value.param == "emial"
    with pytest.raises(stripe.InvalidRequestError, match="does not implement the parameter phone"):
        client.v1.customers.create({"phone": "+1 555 0100"})


# ----------------------------------------------------------------------------------------- checkout


def test_checkout_session_create_and_retrieve(client: stripe.StripeClient, standin: StandInStripe) -> None:
    session = _session(
        client,
        client_reference_id="w1",
        metadata={"workspace": "w1"},
        subscription_data={"metadata": {"workspace": "w1"}},
        allow_promotion_codes=True,
    )
    assert session.id.startswith("cs_test_") and session.object == "checkout.session"
    assert session.url == f"{standin.url}/pay/{session.id}"
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "subscription")
    assert (session.customer, session.subscription, session.client_reference_id) == (None, None, "w1")
    assert (session.success_url, session.cancel_url) == (SUCCESS_URL, CANCEL_URL)
    assert session.metadata is not None and session.metadata.to_dict() == {"workspace": "w1"}
    assert client.v1.checkout.sessions.retrieve(session.id).to_dict() == session.to_dict()
    assert standin.requests[0].params["subscription_data"] == {"metadata": {"workspace": "w1"}}


def test_checkout_session_with_a_promotion_code(client: stripe.StripeClient, standin: StandInStripe) -> None:
    promo = standin.add_promotion_code("LAUNCH", percent_off=50)
    assert promo.startswith("promo_")
    fetched = client.v1.promotion_codes.retrieve(promo, {"expand": ["promotion.coupon"]})
    assert fetched.code == "LAUNCH" and fetched.promotion.coupon.percent_off == 50  # type: ignore[union-attr]

    session = _session(client, discounts=[{"promotion_code": promo}])
    standin.complete_checkout(session.id)
    invoice = client.v1.invoices.list({"customer": str(client.v1.checkout.sessions.retrieve(session.id).customer)})
    assert [i.amount_paid for i in invoice.data] == [2450]  # half of 49.00


def test_checkout_session_refusals(client: stripe.StripeClient, standin: StandInStripe) -> None:
    promo = standin.add_promotion_code("FREE")
    with pytest.raises(stripe.InvalidRequestError, match="allow_promotion_codes, discounts"):
        _session(client, allow_promotion_codes=True, discounts=[{"promotion_code": promo}])
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _session(client, discounts=[{"promotion_code": "promo_nope"}])
    assert (raised.value.code, raised.value.param) == ("resource_missing", "discounts[0][promotion_code]")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _session(client, line_items=[{"price": "price_nope", "quantity": 1}])
    assert (raised.value.code, raised.value.param) == ("resource_missing", "line_items[0][price]")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _session(client, success_url=None)
    assert raised.value.param == "success_url" and raised.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _session(client, customer="cus_nope")
    assert (raised.value.code, raised.value.param) == ("resource_missing", "customer")
    assert standin.get(promo)["times_redeemed"] == 0


def test_hosted_page_completes_the_session(
    client: stripe.StripeClient, standin: StandInStripe, http: httpx.Client
) -> None:
    session = _session(client, subscription_data={"metadata": {"workspace": "w1"}})
    assert session.url is not None
    page = http.get(session.url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert ">Subscribe</button>" in page.text and "$49.00" in page.text

    before = int(time.time())
    paid = http.post(session.url)
    assert paid.status_code == 303
    assert paid.headers["location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)

    done = client.v1.checkout.sessions.retrieve(session.id, {"expand": ["customer"]})
    assert (done.status, done.payment_status, done.url) == ("complete", "paid", None)
    customer = done.customer
    assert isinstance(customer, stripe.Customer) and customer.email == "buyer@example.com"
    assert isinstance(done.subscription, str) and done.subscription.startswith("sub_")

    subscription = client.v1.subscriptions.retrieve(done.subscription)
    assert (subscription.status, subscription.customer, subscription.cancel_at_period_end) == (
        "active",
        customer.id,
        False,
    )
    assert subscription.metadata.to_dict() == {"workspace": "w1"}
    item = subscription["items"].data[0]
    assert item.id.startswith("si_") and item.price.id == "price_pro"
    assert item.current_period_start >= before
    assert item.current_period_end - item.current_period_start == PERIOD_SECONDS
    assert "current_period_end" not in subscription  # on the items only, in current API versions

    assert [e["type"] for e in standin.events] == [
        "customer.subscription.created",
        "checkout.session.completed",
        "invoice.paid",
    ]
    invoice = standin.events[2]["data"]["object"]
    assert (invoice["status"], invoice["amount_paid"], invoice["customer"]) == ("paid", 4900, customer.id)
    assert invoice["parent"]["subscription_details"] == {
        "subscription": subscription.id,
        "metadata": {"workspace": "w1"},
    }
    assert standin.deliveries == []  # no webhook_url: kept only
    # a completed session's page has no button any more, and paying twice is refused
    assert "Subscribe</button>" not in http.get(f"{standin.url}/pay/{session.id}").text
    assert http.post(f"{standin.url}/pay/{session.id}").status_code == 400


def test_hosted_page_takes_a_promotion_code(
    client: stripe.StripeClient, standin: StandInStripe, http: httpx.Client
) -> None:
    standin.add_promotion_code("FREE")
    session = _session(client, allow_promotion_codes=True)
    assert 'name="promotion_code"' in http.get(f"{standin.url}/pay/{session.id}").text
    assert http.post(f"{standin.url}/pay/{session.id}", data={"promotion_code": "NOPE"}).status_code == 400
    assert http.post(f"{standin.url}/pay/{session.id}", data={"promotion_code": "FREE"}).status_code == 303
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.payment_status == "no_payment_required"  # what Stripe says when a code made it free


# ----------------------------------------------------------------------------------------- subscriptions, portal


def test_portal_cancel_sets_cancel_at_period_end(
    client: stripe.StripeClient, standin: StandInStripe, http: httpx.Client
) -> None:
    customer, subscription_id = _paid_subscription(client, standin)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.billing_portal.sessions.create({"customer": "cus_nope"})
    assert raised.value.param == "customer"
    portal = client.v1.billing_portal.sessions.create({"customer": customer, "return_url": CANCEL_URL})
    assert portal.id.startswith("bps_") and portal.object == "billing_portal.session"
    assert portal.url == f"{standin.url}/portal/{portal.id}"

    page = http.get(portal.url)
    assert page.status_code == 200 and ">Cancel plan</button>" in page.text
    cancelled = http.post(f"{portal.url}/cancel")
    assert (cancelled.status_code, cancelled.headers["location"]) == (303, CANCEL_URL)

    subscription = client.v1.subscriptions.retrieve(subscription_id)
    period_end = subscription["items"].data[0].current_period_end
    assert (subscription.status, subscription.cancel_at_period_end, subscription.cancel_at) == (
        "active",
        True,
        period_end,
    )
    event = standin.events[-1]
    assert event["type"] == "customer.subscription.updated"
    assert event["data"]["object"]["cancel_at_period_end"] is True
    assert event["data"]["previous_attributes"] == {
        "cancel_at_period_end": False,
        "cancel_at": None,
        "canceled_at": None,
    }
    assert ">Cancel plan</button>" not in http.get(portal.url).text


def test_subscription_update_cancel_and_list(client: stripe.StripeClient, standin: StandInStripe) -> None:
    customer, subscription_id = _paid_subscription(client, standin)
    updated = client.v1.subscriptions.update(
        subscription_id, {"cancel_at_period_end": True, "metadata": {"seats": "3"}}
    )
    assert updated.cancel_at_period_end is True and updated.metadata.to_dict() == {"seats": "3"}
    update_request = standin.requests[-1]
    event = standin.events[-1]
    assert event["type"] == "customer.subscription.updated"
    assert event["request"] == {"id": event["request"]["id"], "idempotency_key": update_request.idempotency_key}
    assert event["data"]["previous_attributes"]["metadata"] == {}

    assert [s.id for s in client.v1.subscriptions.list({"customer": customer}).data] == [subscription_id]
    canceled = client.v1.subscriptions.cancel(subscription_id)
    assert canceled.status == "canceled" and canceled.ended_at is not None
    assert standin.events[-1]["type"] == "customer.subscription.deleted"
    assert client.v1.subscriptions.list({"customer": customer}).data == []
    assert len(client.v1.subscriptions.list({"customer": customer, "status": "all"}).data) == 1
    with pytest.raises(stripe.InvalidRequestError, match="No such subscription"):
        client.v1.subscriptions.cancel(subscription_id)
    with pytest.raises(stripe.InvalidRequestError, match="canceled subscription"):
        client.v1.subscriptions.update(subscription_id, {"cancel_at_period_end": False})


def test_set_subscription_returns_an_undelivered_event(
    client: stripe.StripeClient, standin: StandInStripe, hooks: WebhookReceiver
) -> None:
    _, subscription_id = _paid_subscription(client, standin)
    hooks.reset()
    subscription, event = standin.set_subscription(subscription_id, status="past_due")
    assert subscription["status"] == "past_due"
    assert event["type"] == "customer.subscription.updated" and event["data"]["previous_attributes"] == {
        "status": "active"
    }
    assert event["api_version"] == API_VERSION and event["livemode"] is False and event["id"].startswith("evt_")
    assert hooks.received == [] and standin.events[-1] == event
    assert client.v1.subscriptions.retrieve(subscription_id).status == "past_due"

    _, moved = standin.set_subscription(subscription_id, current_period_end=2_000_000_000)
    assert moved["data"]["previous_attributes"]["items"]["data"][0]["current_period_end"] != 2_000_000_000
    with pytest.raises(ValueError):
        standin.set_subscription(subscription_id, status="sleeping")


# ----------------------------------------------------------------------------------------- webhooks


def test_delivered_events_verify_with_the_library(
    client: stripe.StripeClient, standin: StandInStripe, hooks: WebhookReceiver, http: httpx.Client
) -> None:
    session = _session(client)
    assert http.post(f"{standin.url}/pay/{session.id}").status_code == 303

    assert [r.json["type"] for r in hooks.received] == [
        "customer.subscription.created",
        "checkout.session.completed",
        "invoice.paid",
    ]
    assert [d[2] for d in standin.deliveries] == [200, 200, 200]
    for request in hooks.received:
        assert request.path == "/stripe" and request.headers["content-type"].startswith("application/json")
        event = stripe.Webhook.construct_event(
            request.body, request.headers["stripe-signature"], standin.webhook_secret
        )
        assert event.id == request.json["id"] and event.type == request.json["type"]
    completed = stripe.Webhook.construct_event(
        hooks.received[1].body, hooks.received[1].headers["stripe-signature"], standin.webhook_secret
    )
    assert completed.data.object["id"] == session.id and completed.data.object["status"] == "complete"


def test_deliver_with_a_bad_signature_or_a_tampered_body(standin: StandInStripe, hooks: WebhookReceiver) -> None:
    event = standin.make_event("invoice.paid", {"id": "in_1", "object": "invoice"})
    assert "previous_attributes" not in event["data"]
    assert standin.deliver(event) == 200
    good = hooks.received[-1]
    stripe.Webhook.construct_event(good.body, good.headers["stripe-signature"], standin.webhook_secret)

    body = json.dumps(event).encode()
    assert standin.deliver(event, signature=standin.sign(body, secret="whsec_other")) == 200
    assert standin.deliver(event, body=body.replace(b"in_1", b"in_2"), signature=standin.sign(body)) == 200
    stale = standin.sign(body, timestamp=int(time.time()) - 3600)
    assert standin.deliver(event, body=body, signature=stale) == 200
    for request in hooks.received[1:]:
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(request.body, request.headers["stripe-signature"], standin.webhook_secret)
    assert [d[0] for d in standin.deliveries] == [event["id"]] * 4

    hooks.fail_next(500)
    assert standin.deliver(event) == 500 and standin.deliveries[-1] == (event["id"], "invoice.paid", 500)


def test_reset_forgets_everything(client: stripe.StripeClient, standin: StandInStripe) -> None:
    customer = client.v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "k"})
    standin.webhook_url = "http://127.0.0.1:9/x"
    standin.make_event("ping", {})
    standin.reset()
    assert (standin.requests, standin.events, standin.deliveries) == ([], [], [])
    assert standin.webhook_url is None
    with pytest.raises(KeyError):
        standin.get(customer.id)
    assert client.v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "k"}).id != customer.id
    assert standin.get("price_team")["unit_amount"] == 9900  # the constructor's prices stay
