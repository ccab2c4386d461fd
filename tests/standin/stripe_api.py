"""A local stand-in for the Stripe API (v1) and its hosted Checkout and customer portal pages, for the
official ``stripe`` library::

    with StandInStripe(webhook_url=app.url + "/billing/stripe-webhook") as stripe_standin:
        client = stripe.StripeClient(
            stripe_standin.secret_key, base_addresses={"api": stripe_standin.url}, max_network_retries=0
        )
        session = client.v1.checkout.sessions.create({...})  # what the app does
        httpx.post(session.url)  # what a browser does when it clicks "Subscribe" on the hosted page
        # -> customer.subscription.created, checkout.session.completed and invoice.paid were POSTed,
        #    signed, to the app's webhook before the 303 to the session's success_url
        subscription, event = stripe_standin.set_subscription(sub_id, status="past_due")
        stripe_standin.deliver(event)  # when, how often and in which order is up to the test
        assert all(r.idempotency_key for r in stripe_standin.requests if r.method == "POST")

API: ``POST /v1/customers``, ``GET /v1/customers/{id}``; ``POST /v1/checkout/sessions`` (subscription mode,
one line item on a known price), ``GET /v1/checkout/sessions/{id}``; ``POST /v1/billing_portal/sessions``;
``GET /v1/subscriptions`` and ``/v1/subscriptions/{id}``, ``POST`` (cancel_at_period_end, metadata) and
``DELETE`` (cancel now); ``GET /v1/invoices`` and ``/v1/invoices/{id}``; ``GET /v1/promotion_codes/{id}``,
``/v1/coupons/{id}`` and ``/v1/prices/{id}``. Bodies are parsed as the library encodes them (form fields
with bracketed nested keys, indexed lists, ``true``/``false``), ``expand`` works on id fields, and errors
have Stripe's shape and status, so the library raises the same classes it would against Stripe.
A parameter the library does not know is refused as Stripe does ("Received unknown parameter"), and one it
knows but this stand-in does not implement is refused too, saying so: a stand-in that ignored it would let
a test pass that production fails. A few that only change the look of the hosted page (``locale``,
``billing_address_collection``, ...) are accepted and ignored.

Every ``POST`` honours ``Idempotency-Key`` as Stripe does: a successful answer is saved and replayed for
the same key with the same parameters (``Idempotent-Replayed: true``, same object, nothing created again);
the same key with other parameters is a 400 ``idempotency_error``. Failed requests are not saved.

Hosted pages (HTML, no auth): ``/pay/{cs_id}`` with a "Subscribe" button (and a promotion code field when
the session allows codes), which completes the session like ``complete_checkout`` and answers 303 to the
``success_url``; ``/portal/{bps_id}`` with a "Cancel plan" button, which sets ``cancel_at_period_end`` on
the customer's live subscription and answers 303 to the ``return_url``.

Events: every event made is kept in ``events``. Those of the hosted pages, of ``complete_checkout`` and
of ``deliver`` are POSTed to ``webhook_url`` (when set) at once, in order, as Stripe sends them: pretty
printed JSON, signed with ``webhook_secret`` over exactly the bytes sent; ``deliveries`` records each
answer. Events caused by API calls (a subscription updated or canceled through the API) are only kept:
delivering them inside the app's own API call could deadlock the app; ``deliver`` them when the test wants.

Named ``stripe_api``, not ``stripe``: pytest puts this folder on ``sys.path`` and a ``stripe.py`` here
would shadow the real library. Standard library HTTP plumbing from ``webhooks.py``: ``hang_next`` and
``fail_next`` work here too.
"""

from __future__ import annotations

import copy
import html
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import stripe
from stripe.params import (
    CouponRetrieveParams,
    CustomerCreateParams,
    CustomerRetrieveParams,
    InvoiceListParams,
    InvoiceRetrieveParams,
    PriceRetrieveParams,
    PromotionCodeRetrieveParams,
    SubscriptionCancelParams,
    SubscriptionListParams,
    SubscriptionRetrieveParams,
    SubscriptionUpdateParams,
)
from stripe.params.billing_portal import SessionCreateParams as PortalSessionCreateParams
from stripe.params.checkout import SessionCreateParams as CheckoutSessionCreateParams
from stripe.params.checkout import SessionRetrieveParams as CheckoutSessionRetrieveParams

from tests.standin._http import StandInHandler
from tests.standin.webhooks import HttpStandIn, Received, Reply
from tests.standin.webhooks import _Handler as _WebhookHandler

__all__ = ["API_VERSION", "SUBSCRIPTION_STATUSES", "StandInStripe", "StripeRequest", "parse_params"]

# The version whose object shapes this stand-in answers with (periods on subscription items, an
# invoice's subscription under parent.subscription_details): the one stripe 16 pins.
API_VERSION = "2026-10-28.endive"
SUBSCRIPTION_STATUSES = (
    "trialing",
    "active",
    "past_due",
    "canceled",
    "unpaid",
    "incomplete",
    "incomplete_expired",
    "paused",
)
PERIOD_SECONDS = 30 * 24 * 3600
DEFAULT_UNIT_AMOUNT = 2000  # cents, for prices given without an amount
DEFAULT_BUYER_EMAIL = "buyer@example.com"  # who "types" their email on the hosted page

Obj = dict[str, Any]

_ALPHABET = string.ascii_letters + string.digits
_LIVE = ("trialing", "active", "past_due", "unpaid", "paused")  # what the portal offers to cancel
_OPTIONS = frozenset(stripe.RequestOptions.__annotations__)  # the library's per-call options, never sent
_UNRECOGNIZED = (
    "Unrecognized request URL ({method}: {path}). The Stripe stand-in (tests/standin/stripe_api.py) does not serve it."
)

# Received keeps only the path, and GET parameters come in the query: the handler thread that serves a
# request also runs _record and _answer for it, so it leaves the request target here for them.
_target = threading.local()


@dataclass(frozen=True)
class StripeRequest:
    """One request as it arrived, its parameters parsed as the library meant them."""

    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: Obj  # the form body (POST) or query (GET, DELETE), nested; {} when unparseable

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")

    @property
    def stripe_version(self) -> str | None:
        return self.headers.get("stripe-version")


class _StripeError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error: Obj = {"type": type, "message": message}
        if code is not None:
            self.error["code"] = code
        if param is not None:
            self.error["param"] = param


def _missing(label: str, object_id: str, param: str, status: int = 400) -> _StripeError:
    return _StripeError(status, f"No such {label}: '{object_id}'", param=param, code="resource_missing")


@dataclass(frozen=True)
class _Call:
    request_id: str
    idempotency_key: str | None


@dataclass(frozen=True)
class _Route:
    method: str
    path: str  # as Stripe documents it: /v1/customers/{id}
    pattern: re.Pattern[str]
    serve: Callable[[str, Obj, _Call], Obj]  # (the id in the path or "", params, call) -> the answer
    known: frozenset[str]  # the library's parameters for this endpoint
    handled: frozenset[str]  # those the stand-in implements or deliberately ignores


@dataclass
class _Checkout:
    """What a checkout session was created with that its object does not show."""

    price: str
    quantity: int
    promotion_code: str | None
    allow_promotion_codes: bool
    subscription_metadata: dict[str, str]
    customer_email: str | None


@dataclass(frozen=True)
class _Saved:
    fingerprint: str
    reply: Reply


@dataclass
class _State:
    prices: dict[str, Obj] = field(default_factory=dict)
    customers: dict[str, Obj] = field(default_factory=dict)
    checkout_sessions: dict[str, Obj] = field(default_factory=dict)
    checkouts: dict[str, _Checkout] = field(default_factory=dict)
    portal_sessions: dict[str, Obj] = field(default_factory=dict)
    subscriptions: dict[str, Obj] = field(default_factory=dict)
    invoices: dict[str, Obj] = field(default_factory=dict)
    promotion_codes: dict[str, Obj] = field(default_factory=dict)
    coupons: dict[str, Obj] = field(default_factory=dict)
    idempotent: dict[str, _Saved] = field(default_factory=dict)

    def stores(self) -> tuple[dict[str, Obj], ...]:
        return (
            self.customers,
            self.subscriptions,
            self.invoices,
            self.checkout_sessions,
            self.portal_sessions,
            self.promotion_codes,
            self.coupons,
            self.prices,
        )


def _new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _now() -> int:
    return int(time.time())


# ---------------------------------------------------------------------------------------- parameters


def parse_params(text: str) -> Obj:
    """A form body or query string as the library encodes it (``a[b][0][c]=v``) into nested dicts and
    lists; ``metadata`` stays a dict whatever its keys look like."""
    root: Obj = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        name, bracket, rest = key.partition("[")
        if bracket and not rest.endswith("]"):
            raise _StripeError(400, f"Invalid parameter name: {key}", param=key)
        path = [name, *(rest[:-1].split("][") if bracket else [])]
        node = root
        for depth, segment in enumerate(path):
            if segment == "":  # a[]=x: the next index
                segment = str(len(node))
            if depth == len(path) - 1:
                if isinstance(node.get(segment), dict):
                    raise _StripeError(400, f"Invalid string: {key} is also given as a hash", param=key)
                node[segment] = value
            else:
                child = node.setdefault(segment, {})
                if not isinstance(child, dict):
                    raise _StripeError(400, f"Invalid hash: {key} is also given as a string", param=key)
                node = child
    return {key: _listify(key, value) for key, value in root.items()}


def _listify(key: str, node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if key != "metadata" and node and all(k.isdigit() for k in node):
        return [_listify(k, node[k]) for k in sorted(node, key=int)]
    return {k: _listify(k, v) for k, v in node.items()}


def _string(params: Obj, name: str, *, required: bool = False, param: str | None = None) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise _StripeError(400, f"Missing required param: {param or name}.", param=param or name)
        return None
    if not isinstance(value, str):
        raise _StripeError(400, f"Invalid string: {value!r}", param=param or name)
    return value


def _required(params: Obj, name: str, *, param: str | None = None) -> str:
    value = _string(params, name, required=True, param=param)
    assert value is not None
    return value


def _bool(params: Obj, name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise _StripeError(400, f"Invalid boolean: {value}", param=name)
    return bool(value == "true")


def _int(
    params: Obj, name: str, *, param: str | None = None, minimum: int = 0, maximum: int | None = None
) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.lstrip("-").isdigit():
        raise _StripeError(400, f"Invalid integer: {value}", param=param or name)
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise _StripeError(400, f"Invalid integer: {value}; must be {bounds}", param=param or name)
    return number


def _url(params: Obj, name: str, *, required: bool = False) -> str | None:
    value = _string(params, name, required=required)
    if value is not None and urlsplit(value).scheme not in ("http", "https"):
        raise _StripeError(400, "Not a valid URL", param=name)
    return value


def _metadata(params: Obj, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` updated as Stripe does: an empty value removes its key, ``metadata=""`` removes all."""
    result = dict(base or {})
    raw = params.get("metadata")
    if raw is None:
        return result
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise _StripeError(400, "Invalid object", param="metadata")
    for key, value in raw.items():
        param = f"metadata[{key}]"
        if not isinstance(value, str):
            raise _StripeError(400, f"Invalid string: {value!r}", param=param)
        if len(key) > 40:
            raise _StripeError(400, "Metadata keys can have up to 40 characters.", param=param)
        if len(value) > 500:
            raise _StripeError(400, "Metadata values can have up to 500 characters.", param=param)
        if value:
            result[key] = value
        else:
            result.pop(key, None)
    if len(result) > 50:
        raise _StripeError(400, "Metadata can have up to 50 keys.", param="metadata")
    return result


def _check_names(route: _Route, params: Obj) -> None:
    for name in params:
        if name not in route.known:
            raise _StripeError(400, f"Received unknown parameter: {name}", param=name)
        if name not in route.handled:
            raise _StripeError(
                400,
                f"The Stripe stand-in does not implement the parameter {name} of {route.method} "
                f"{route.path}: add it to tests/standin/stripe_api.py",
                param=name,
            )


def _library_params(params_class: type) -> frozenset[str]:
    return frozenset(params_class.__annotations__) - _OPTIONS


# ---------------------------------------------------------------------------------------- replies


def _json(status: int, body: Obj, request_id: str, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(
        status,
        json.dumps(body, indent=2).encode(),
        {
            "Content-Type": "application/json",
            "Request-Id": request_id,
            "Stripe-Version": API_VERSION,
            **(headers or {}),
        },
    )


def _page(status: int, title: str, body: str) -> Reply:
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} · Stripe stand-in</title></head><body>{body}</body></html>"
    )
    return Reply(status, text.encode(), {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"})


def _see_other(location: str) -> Reply:
    return Reply(303, b"", {"Location": location, "Cache-Control": "no-store"})


def _money(cents: int, currency: str) -> str:
    return f"${cents / 100:,.2f}" if currency == "usd" else f"{cents / 100:,.2f} {currency.upper()}"


def _day(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


def _period_end(subscription: Obj) -> int:
    return int(subscription["items"]["data"][0]["current_period_end"])


def _mask(key: str) -> str:
    return key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else "*" * len(key)


class StandInStripe(HttpStandIn):
    """Context manager running the stand-in on ``127.0.0.1:<free port>``; point the library's ``api``
    base address at ``url``."""

    thread_name = "standin-stripe"
    webhook_timeout = 10.0  # seconds; only a hung receiver takes this long, and it then counts as no answer (0)

    def __init__(
        self,
        secret_key: str = "sk_test_standin",
        *,
        prices: Iterable[str] | Mapping[str, int] = ("price_pro",),
        webhook_url: str | None = None,
        webhook_secret: str = "whsec_standin",
    ) -> None:
        """``prices`` are the recurring monthly USD prices that exist: ids, or ids with their amounts in
        cents (else 20.00)."""
        super().__init__()
        self.secret_key = secret_key
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self._initial = (webhook_url, webhook_secret)
        amounts = dict(prices) if isinstance(prices, Mapping) else dict.fromkeys(prices, DEFAULT_UNIT_AMOUNT)
        self._price_amounts: dict[str, int] = amounts
        self.requests: list[StripeRequest] = []  # every request, API and hosted pages, answered or refused
        self.events: list[Obj] = []  # every event made, delivered or not, in order
        self.deliveries: list[tuple[str, str, int]] = []  # (event id, type, status code; 0: no answer)
        self._state = self._fresh_state()
        self._routes = self._make_routes()

    # ------------------------------------------------------------------ knobs and test helpers

    def fail_next(self, status: int, times: int = 1, *, path: str | None = None, message: str | None = None) -> None:
        """Answer the next ``times`` requests (for ``path``, or any) with ``status`` and Stripe's error
        JSON, before any other check: 429 as Stripe's rate limit, anything else as an ``api_error``."""
        text = message or f"stand-in Stripe failure {status}"
        error: Obj = (
            {"type": "invalid_request_error", "code": "rate_limit", "message": text}
            if status == 429
            else {"type": "api_error", "message": text}
        )
        self._queue_reply(_json(status, {"error": error}, _new_id("req_", 14)), times, path)

    def add_promotion_code(self, code: str, percent_off: int = 100) -> str:
        """A live promotion code (on a new coupon taking ``percent_off`` off every invoice); its id."""
        now = _now()
        coupon: Obj = {
            "id": _new_id("", 8),
            "object": "coupon",
            "created": now,
            "livemode": False,
            "metadata": {},
            "percent_off": percent_off,
            "duration": "forever",
            "valid": True,
        }
        promotion_code: Obj = {
            "id": _new_id("promo_", 24),
            "object": "promotion_code",
            "created": now,
            "livemode": False,
            "metadata": {},
            "active": True,
            "code": code,
            "promotion": {"type": "coupon", "coupon": coupon["id"]},
            "times_redeemed": 0,
        }
        with self._lock:
            self._state.coupons[coupon["id"]] = coupon
            self._state.promotion_codes[promotion_code["id"]] = promotion_code
        return str(promotion_code["id"])

    def get(self, object_id: str) -> Obj:
        """A copy of any object the stand-in holds, by id (``KeyError`` if none)."""
        with self._lock:
            found = self._lookup_locked(object_id)
            if found is None:
                raise KeyError(object_id)
            return copy.deepcopy(found)

    def objects(self, object_type: str) -> list[Obj]:
        """Copies of every object of a type (``"customer"``, ``"subscription"``, ``"checkout.session"``,
        ...), oldest first: to see what the app made without going through the API."""
        with self._lock:
            return [
                copy.deepcopy(obj)
                for store in self._state.stores()
                for obj in store.values()
                if obj["object"] == object_type
            ]

    def complete_checkout(self, session_id: str, *, promotion_code: str | None = None) -> Obj:
        """Pay a checkout session as its hosted page does (``promotion_code``: the code the buyer
        typed): creates the customer if the session had none and an active subscription, completes the
        session, makes ``customer.subscription.created``, ``checkout.session.completed`` and
        ``invoice.paid`` and delivers them. Returns the subscription."""
        with self._lock:
            subscription, events = self._complete_locked(session_id, promotion_code)
        self._deliver_all(events)
        return subscription

    def set_subscription(self, subscription_id: str, **changes: Any) -> tuple[Obj, Obj]:
        """Change a subscription as Stripe would on its own: ``status``, ``cancel_at_period_end``,
        ``cancel_at``, ``canceled_at``, ``ended_at``, ``metadata`` (replaced), and on its items ``price``
        (an id), ``quantity``, ``current_period_start``, ``current_period_end``. Only what is given
        changes, except that ``cancel_at_period_end`` moves ``cancel_at`` and ``canceled_at`` with it as
        Stripe does. Returns the subscription and its ``customer.subscription.updated`` event (whose
        ``previous_attributes`` hold the old values of what changed), kept in ``events``, not delivered."""
        with self._lock:
            subscription = self._state.subscriptions.get(subscription_id)
            if subscription is None:
                raise KeyError(f"No such subscription: {subscription_id!r}")
            previous = self._change_locked(subscription, changes)
            event = self._event_locked("customer.subscription.updated", subscription, previous)
            return copy.deepcopy(subscription), copy.deepcopy(event)

    def make_event(self, type: str, obj: Obj, previous_attributes: Obj | None = None) -> Obj:
        """An event of ``type`` about ``obj`` (a snapshot), kept in ``events``, not delivered."""
        with self._lock:
            return copy.deepcopy(self._event_locked(type, obj, previous_attributes))

    def sign(self, payload: bytes, timestamp: int | None = None, secret: str | None = None) -> str:
        """The ``Stripe-Signature`` header for ``payload``, made by the library's own helper."""
        header = stripe.WebhookSignature.generate_signature_header(
            payload.decode("utf-8"), secret if secret is not None else self.webhook_secret, timestamp=timestamp
        )
        return str(header)

    def deliver(self, event: Obj, *, signature: str | None = None, body: bytes | None = None) -> int:
        """POST ``event`` to ``webhook_url`` as Stripe does and return the status code (0: no answer).
        ``body`` replaces the serialized event and ``signature`` the header made over the body, to send
        a tampered payload or a bad signature."""
        url = self.webhook_url
        if url is None:
            raise RuntimeError("webhook_url is not set: nowhere to deliver to")
        payload = body if body is not None else json.dumps(event, indent=2).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signature if signature is not None else self.sign(payload),
        }
        try:
            # Stripe follows no redirect, and proxies from the environment have no business with 127.0.0.1
            response = httpx.post(url, content=payload, headers=headers, timeout=self.webhook_timeout, trust_env=False)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        with self._lock:
            self.deliveries.append((str(event.get("id")), str(event.get("type")), status))
        return status

    def reset(self) -> None:
        """Back to just built: no customers, sessions, subscriptions, promotion codes, events, deliveries,
        requests or queued failures/hangs; the constructor's webhook URL and secret."""
        with self._lock:
            self.webhook_url, self.webhook_secret = self._initial
            self.requests.clear()
            self.events.clear()
            self.deliveries.clear()
            self._state = self._fresh_state()
            self._clear_queues()

    # ------------------------------------------------------------------ state (callers hold the lock)

    def _fresh_state(self) -> _State:
        state = _State()
        now = _now()
        for price_id, amount in self._price_amounts.items():
            state.prices[price_id] = {
                "id": price_id,
                "object": "price",
                "created": now,
                "livemode": False,
                "metadata": {},
                "active": True,
                "currency": "usd",
                "unit_amount": amount,
                "type": "recurring",
                "recurring": {"interval": "month", "interval_count": 1},
                "product": f"prod_{price_id.removeprefix('price_')}",
            }
        return state

    def _lookup_locked(self, object_id: str) -> Obj | None:
        for store in self._state.stores():
            if object_id in store:
                return store[object_id]
        return None

    def _event_locked(
        self, type: str, obj: Obj, previous_attributes: Obj | None = None, call: _Call | None = None
    ) -> Obj:
        data: Obj = {"object": copy.deepcopy(obj)}
        if previous_attributes is not None:  # Stripe sends it on *.updated events only
            data["previous_attributes"] = copy.deepcopy(previous_attributes)
        event: Obj = {
            "id": _new_id("evt_", 24),
            "object": "event",
            "api_version": API_VERSION,
            "created": _now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {
                "id": call.request_id if call else None,
                "idempotency_key": call.idempotency_key if call else None,
            },
            "type": type,
        }
        self.events.append(event)
        return event

    def _create_customer_locked(self, email: str | None, name: str | None, metadata: dict[str, str]) -> Obj:
        customer: Obj = {
            "id": _new_id("cus_", 14),
            "object": "customer",
            "created": _now(),
            "livemode": False,
            "metadata": metadata,
            "email": email,
            "name": name,
        }
        self._state.customers[customer["id"]] = customer
        return customer

    def _complete_locked(self, session_id: str, promotion_code: str | None) -> tuple[Obj, list[Obj]]:
        state = self._state
        session = state.checkout_sessions.get(session_id)
        if session is None:
            raise KeyError(f"No such checkout.session: {session_id!r}")
        if session["status"] != "open":
            raise ValueError(f"checkout session {session_id} is {session['status']}, not open")
        checkout = state.checkouts[session_id]
        if promotion_code is not None:
            if not checkout.allow_promotion_codes:
                raise ValueError("this checkout session does not allow promotion codes")
            promo = next((p for p in state.promotion_codes.values() if p["code"] == promotion_code), None)
            if promo is None or not promo["active"]:
                raise ValueError(f"no active promotion code {promotion_code!r}")
            checkout.promotion_code = promo["id"]
        now = _now()
        customer_id = session["customer"]
        if customer_id is None:
            customer_id = self._create_customer_locked(checkout.customer_email or DEFAULT_BUYER_EMAIL, None, {})["id"]
        price = state.prices[checkout.price]
        percent_off = 0
        if checkout.promotion_code is not None:
            promo = state.promotion_codes[checkout.promotion_code]
            promo["times_redeemed"] += 1
            percent_off = int(state.coupons[promo["promotion"]["coupon"]]["percent_off"])
        amount = price["unit_amount"] * checkout.quantity * (100 - percent_off) // 100
        subscription_id = _new_id("sub_", 24)
        invoice_id = _new_id("in_", 24)
        subscription: Obj = {
            "id": subscription_id,
            "object": "subscription",
            "created": now,
            "livemode": False,
            "metadata": dict(checkout.subscription_metadata),
            "customer": customer_id,
            "status": "active",
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "latest_invoice": invoice_id,
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": _new_id("si_", 14),
                        "object": "subscription_item",
                        "created": now,
                        "metadata": {},
                        "price": copy.deepcopy(price),
                        "quantity": checkout.quantity,
                        "subscription": subscription_id,
                        "current_period_start": now,
                        "current_period_end": now + PERIOD_SECONDS,
                    }
                ],
                "has_more": False,
                "total_count": 1,
                "url": f"/v1/subscription_items?subscription={subscription_id}",
            },
        }
        invoice: Obj = {
            "id": invoice_id,
            "object": "invoice",
            "created": now,
            "livemode": False,
            "metadata": {},
            "customer": customer_id,
            "status": "paid",
            "currency": price["currency"],
            "amount_due": amount,
            "amount_paid": amount,
            "billing_reason": "subscription_create",
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "subscription": subscription_id,
                    "metadata": dict(checkout.subscription_metadata),
                },
            },
        }
        state.subscriptions[subscription_id] = subscription
        state.invoices[invoice_id] = invoice
        session.update(
            status="complete",
            # Stripe's word for a first invoice a promotion code made free
            payment_status="paid" if amount else "no_payment_required",
            customer=customer_id,
            subscription=subscription_id,
            url=None,  # the hosted page is gone once the session is complete
        )
        events = [
            self._event_locked("customer.subscription.created", subscription),
            self._event_locked("checkout.session.completed", session),
            self._event_locked("invoice.paid", invoice),
        ]
        return copy.deepcopy(subscription), [copy.deepcopy(event) for event in events]

    def _change_locked(self, subscription: Obj, changes: Mapping[str, Any]) -> Obj:
        """Apply ``changes``; the previous values of what changed, as an event's previous_attributes."""
        top_fields = {"status", "cancel_at_period_end", "cancel_at", "canceled_at", "ended_at", "metadata"}
        item_fields = {"price", "quantity", "current_period_start", "current_period_end"}
        unknown = set(changes) - top_fields - item_fields
        if unknown:
            raise TypeError(f"set_subscription cannot change {', '.join(sorted(unknown))}")
        if "status" in changes and changes["status"] not in SUBSCRIPTION_STATUSES:
            raise ValueError(f"status must be one of {', '.join(SUBSCRIPTION_STATUSES)}")
        if "price" in changes and changes["price"] not in self._state.prices:
            raise ValueError(f"no price {changes['price']!r}")
        updates = {key: value for key, value in changes.items() if key in top_fields}
        flag = changes.get("cancel_at_period_end")
        if flag is not None and bool(flag) != subscription["cancel_at_period_end"]:
            # Stripe moves cancel_at and canceled_at with the flag; explicit changes still win
            derived = {"cancel_at": _period_end(subscription), "canceled_at": _now()} if flag else {}
            updates = {"cancel_at": None, "canceled_at": None, **derived, **updates}
        previous: Obj = {}
        for key, value in updates.items():
            if subscription.get(key) != value:
                previous[key] = copy.deepcopy(subscription.get(key))
                subscription[key] = copy.deepcopy(value)
        item_changes = {key: value for key, value in changes.items() if key in item_fields}
        if item_changes:
            before = copy.deepcopy(subscription["items"])
            for item in subscription["items"]["data"]:
                for key, value in item_changes.items():
                    item[key] = copy.deepcopy(self._state.prices[value]) if key == "price" else value
            if subscription["items"] != before:
                previous["items"] = before
        return previous

    def _cancellable_locked(self, customer_id: str) -> Obj | None:
        """The customer's newest live subscription not already set to end."""
        for subscription in reversed(self._state.subscriptions.values()):
            if (
                subscription["customer"] == customer_id
                and subscription["status"] in _LIVE
                and not subscription["cancel_at_period_end"]
            ):
                return subscription
        return None

    def _expand_locked(self, obj: Obj, paths: list[str]) -> Obj:
        result = copy.deepcopy(obj)
        for path in paths:
            self._expand_path_locked(result, path.split("."), path)
        return result

    def _expand_path_locked(self, node: Any, parts: list[str], path: str) -> None:
        if not parts:
            return
        key, rest = parts[0], parts[1:]
        if not isinstance(node, dict) or key not in node:
            raise _StripeError(400, f"This property cannot be expanded ({path}).", param="expand")
        if key == "data" and node.get("object") == "list":
            for item in node["data"]:
                self._expand_path_locked(item, rest, path)
            return
        value = node[key]
        if value is None:
            return
        if isinstance(value, str):
            found = self._lookup_locked(value)
            if found is None:
                raise _StripeError(400, f"This property cannot be expanded ({path}).", param="expand")
            node[key] = value = copy.deepcopy(found)
        self._expand_path_locked(value, rest, path)

    # ------------------------------------------------------------------ serving

    def _handler_class(self) -> type[StandInHandler]:
        return _Handler

    def _record(self, request: Received) -> None:
        query = urlsplit(getattr(_target, "value", "")).query
        try:
            params = parse_params(request.body.decode("utf-8", "replace") if request.method == "POST" else query)
        except _StripeError:
            params = {}
        self.requests.append(
            StripeRequest(request.method, request.path, query, dict(request.headers), request.body, params)
        )

    def _answer(self, request: Received) -> Reply:
        if request.path.startswith("/v1/"):
            return self._api(request)
        if match := re.fullmatch(r"/pay/([^/]+)", request.path):
            if request.method == "GET":
                return self._pay_page(match[1])
            if request.method == "POST":
                return self._pay(match[1], request)
        if match := re.fullmatch(r"/portal/([^/]+)", request.path):
            if request.method == "GET":
                return self._portal_page(match[1])
        if match := re.fullmatch(r"/portal/([^/]+)/cancel", request.path):
            if request.method == "POST":
                return self._portal_cancel(match[1])
        return _page(404, "Not found", "<p>The Stripe stand-in has no such page.</p>")

    def _api(self, request: Received) -> Reply:
        key = request.headers.get("idempotency-key") if request.method == "POST" else None
        call = _Call(_new_id("req_", 14), key)
        try:
            self._authenticate(request.headers.get("authorization", ""))
            route, object_id = self._route(request)
            query = urlsplit(getattr(_target, "value", "")).query
            params = parse_params(request.body.decode("utf-8", "replace") if request.method == "POST" else query)
            _check_names(route, params)
            expand = params.get("expand", [])
            if not isinstance(expand, list) or not all(isinstance(path, str) for path in expand):
                raise _StripeError(400, "Invalid array", param="expand")
            fingerprint = json.dumps([request.method, request.path, params], sort_keys=True)
            with self._lock:
                saved = self._state.idempotent.get(key) if key is not None else None
                if saved is not None:
                    if saved.fingerprint != fingerprint:
                        raise _StripeError(
                            400,
                            "Keys for idempotent requests can only be used with the same parameters they were "
                            f"first used with. Try using a key other than '{key}' if you meant to execute a "
                            "different request.",
                            type="idempotency_error",
                        )
                    return Reply(
                        saved.reply.status, saved.reply.body, {**saved.reply.headers, "Idempotent-Replayed": "true"}
                    )
                answer = self._expand_locked(route.serve(object_id, params, call), expand)
                reply = _json(200, answer, call.request_id)
                if key is not None:
                    self._state.idempotent[key] = _Saved(fingerprint, reply)
                return reply
        except _StripeError as error:
            return _json(error.status, {"error": error.error}, call.request_id)

    def _authenticate(self, authorization: str) -> None:
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise _StripeError(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if not secrets.compare_digest(key.encode(), self.secret_key.encode()):
            raise _StripeError(401, f"Invalid API Key provided: {_mask(key)}")

    def _route(self, request: Received) -> tuple[_Route, str]:
        for route in self._routes:
            if route.method == request.method and (match := route.pattern.fullmatch(request.path)):
                return route, match.group("id") if "id" in route.pattern.groupindex else ""
        raise _StripeError(404, _UNRECOGNIZED.format(method=request.method, path=request.path))

    def _make_routes(self) -> list[_Route]:
        def route(
            method: str, path: str, serve: Callable[[str, Obj, _Call], Obj], params_class: type, handled: set[str]
        ) -> _Route:
            known = _library_params(params_class)
            assert handled <= known, handled - known
            pattern = re.compile(path.replace("{id}", "(?P<id>[^/]+)"))
            return _Route(method, path, pattern, serve, known, frozenset(handled | {"expand"}))

        def retrieve(store: str, label: str) -> Callable[[str, Obj, _Call], Obj]:
            def serve(object_id: str, params: Obj, call: _Call) -> Obj:
                # looked up at each call: reset() swaps the state
                found: Obj | None = getattr(self._state, store).get(object_id)
                if found is None:
                    raise _missing(label, object_id, "id", 404)
                return found

            return serve

        return [
            route("POST", "/v1/customers", self._create_customer, CustomerCreateParams, {"email", "name", "metadata"}),
            route(
                "GET",
                "/v1/customers/{id}",
                retrieve("customers", "customer"),
                CustomerRetrieveParams,
                set(),
            ),
            route(
                "POST",
                "/v1/checkout/sessions",
                self._create_checkout_session,
                CheckoutSessionCreateParams,
                {
                    "mode",
                    "customer",
                    "customer_email",
                    "line_items",
                    "success_url",
                    "cancel_url",
                    "client_reference_id",
                    "metadata",
                    "subscription_data",
                    "allow_promotion_codes",
                    "discounts",
                    # only the look of the hosted page
                    "locale",
                    "billing_address_collection",
                    "automatic_tax",
                    "tax_id_collection",
                    "customer_update",
                    "payment_method_collection",
                    "consent_collection",
                },
            ),
            route(
                "GET",
                "/v1/checkout/sessions/{id}",
                retrieve("checkout_sessions", "checkout.session"),
                CheckoutSessionRetrieveParams,
                set(),
            ),
            route(
                "POST",
                "/v1/billing_portal/sessions",
                self._create_portal_session,
                PortalSessionCreateParams,
                {"customer", "return_url", "locale"},
            ),
            route(
                "GET",
                "/v1/subscriptions",
                self._list_subscriptions,
                SubscriptionListParams,
                {"customer", "status", "price", "limit", "starting_after"},
            ),
            route(
                "GET",
                "/v1/subscriptions/{id}",
                retrieve("subscriptions", "subscription"),
                SubscriptionRetrieveParams,
                set(),
            ),
            route(
                "POST",
                "/v1/subscriptions/{id}",
                self._update_subscription,
                SubscriptionUpdateParams,
                {"cancel_at_period_end", "metadata"},
            ),
            route(
                "DELETE",
                "/v1/subscriptions/{id}",
                self._cancel_subscription,
                SubscriptionCancelParams,
                # no effect here: there is no proration or final invoice to make
                {"cancellation_details", "invoice_now", "prorate"},
            ),
            route(
                "GET",
                "/v1/invoices",
                self._list_invoices,
                InvoiceListParams,
                {"customer", "subscription", "status", "limit", "starting_after"},
            ),
            route("GET", "/v1/invoices/{id}", retrieve("invoices", "invoice"), InvoiceRetrieveParams, set()),
            route(
                "GET",
                "/v1/promotion_codes/{id}",
                retrieve("promotion_codes", "promotion code"),
                PromotionCodeRetrieveParams,
                set(),
            ),
            route("GET", "/v1/coupons/{id}", retrieve("coupons", "coupon"), CouponRetrieveParams, set()),
            route("GET", "/v1/prices/{id}", retrieve("prices", "price"), PriceRetrieveParams, set()),
        ]

    # ------------------------------------------------------------------ endpoints (called under the lock)

    def _create_customer(self, _: str, params: Obj, call: _Call) -> Obj:
        return self._create_customer_locked(_string(params, "email"), _string(params, "name"), _metadata(params))

    def _create_checkout_session(self, _: str, params: Obj, call: _Call) -> Obj:
        state = self._state
        mode = _required(params, "mode")
        if mode not in ("payment", "setup", "subscription"):
            raise _StripeError(400, "Invalid mode: must be one of payment, setup, or subscription", param="mode")
        if mode != "subscription":
            raise _StripeError(400, f"The Stripe stand-in does not implement mode={mode}.", param="mode")
        customer = _string(params, "customer")
        customer_email = _string(params, "customer_email")
        if customer is not None and customer_email is not None:
            raise _StripeError(400, "You may only specify one of these parameters: customer, customer_email.")
        if customer is not None and customer not in state.customers:
            raise _missing("customer", customer, "customer")
        line_items = params.get("line_items")
        if line_items is None:
            raise _StripeError(400, "Missing required param: line_items.", param="line_items")
        if not isinstance(line_items, list) or not all(isinstance(item, dict) for item in line_items):
            raise _StripeError(400, "Invalid array", param="line_items")
        if len(line_items) != 1:
            raise _StripeError(400, "The Stripe stand-in implements exactly one line item.", param="line_items")
        item = line_items[0]
        for name in item:
            if name not in ("price", "quantity"):
                raise _StripeError(
                    400,
                    f"The Stripe stand-in does not implement line_items[0][{name}].",
                    param=f"line_items[0][{name}]",
                )
        price = _required(item, "price", param="line_items[0][price]")
        if price not in state.prices:
            raise _missing("price", price, "line_items[0][price]")
        quantity = _int(item, "quantity", param="line_items[0][quantity]", minimum=1)
        if quantity is None:
            raise _StripeError(
                400, "Quantity is required. Add `quantity` to `line_items[0]`", param="line_items[0][quantity]"
            )
        success_url = _url(params, "success_url", required=True)
        cancel_url = _url(params, "cancel_url", required=True)
        subscription_data = params.get("subscription_data", {})
        if not isinstance(subscription_data, dict):
            raise _StripeError(400, "Invalid object", param="subscription_data")
        for name in subscription_data:
            if name != "metadata":
                raise _StripeError(
                    400,
                    f"The Stripe stand-in does not implement subscription_data[{name}].",
                    param=f"subscription_data[{name}]",
                )
        allow_promotion_codes = _bool(params, "allow_promotion_codes")
        promotion_code = self._discount_locked(params)
        if allow_promotion_codes is not None and "discounts" in params:
            raise _StripeError(400, "You may only specify one of these parameters: allow_promotion_codes, discounts.")
        session_id = _new_id("cs_test_", 58)
        session: Obj = {
            "id": session_id,
            "object": "checkout.session",
            "created": _now(),
            "livemode": False,
            "metadata": _metadata(params),
            "url": f"{self.url}/pay/{session_id}",
            "status": "open",
            "payment_status": "unpaid",
            "mode": mode,
            "customer": customer,
            "customer_email": customer_email,
            "subscription": None,
            "client_reference_id": _string(params, "client_reference_id"),
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        state.checkout_sessions[session_id] = session
        state.checkouts[session_id] = _Checkout(
            price=price,
            quantity=quantity,
            promotion_code=promotion_code,
            allow_promotion_codes=bool(allow_promotion_codes),
            subscription_metadata=_metadata(subscription_data),
            customer_email=customer_email,
        )
        return session

    def _discount_locked(self, params: Obj) -> str | None:
        discounts = params.get("discounts")
        if discounts is None or discounts == "":  # "" is how the library clears a list
            return None
        if not isinstance(discounts, list) or not all(isinstance(d, dict) for d in discounts):
            raise _StripeError(400, "Invalid array", param="discounts")
        if len(discounts) > 1:
            raise _StripeError(400, "You may only specify one discount.", param="discounts")
        discount = discounts[0]
        for name in discount:
            if name != "promotion_code":
                raise _StripeError(
                    400, f"The Stripe stand-in does not implement discounts[0][{name}].", param=f"discounts[0][{name}]"
                )
        promo = _required(discount, "promotion_code", param="discounts[0][promotion_code]")
        found = self._state.promotion_codes.get(promo)
        if found is None:
            raise _missing("promotion code", promo, "discounts[0][promotion_code]")
        if not found["active"]:
            raise _StripeError(400, f"The promotion code {promo} is not active.", param="discounts[0][promotion_code]")
        return promo

    def _create_portal_session(self, _: str, params: Obj, call: _Call) -> Obj:
        customer = _required(params, "customer")
        if customer not in self._state.customers:
            raise _missing("customer", customer, "customer")
        session_id = _new_id("bps_", 24)
        session: Obj = {  # a portal session has no metadata in Stripe either
            "id": session_id,
            "object": "billing_portal.session",
            "created": _now(),
            "livemode": False,
            "customer": customer,
            "return_url": _url(params, "return_url"),
            "url": f"{self.url}/portal/{session_id}",
        }
        self._state.portal_sessions[session_id] = session
        return session

    def _subscription_locked(self, subscription_id: str) -> Obj:
        found = self._state.subscriptions.get(subscription_id)
        if found is None:
            raise _missing("subscription", subscription_id, "id", 404)
        return found

    def _update_subscription(self, subscription_id: str, params: Obj, call: _Call) -> Obj:
        subscription = self._subscription_locked(subscription_id)
        changes: Obj = {}
        flag = _bool(params, "cancel_at_period_end")
        if flag is not None:
            if subscription["status"] == "canceled":
                raise _StripeError(
                    400, "A canceled subscription can only update its cancellation_details and metadata."
                )
            changes["cancel_at_period_end"] = flag
        if "metadata" in params:
            changes["metadata"] = _metadata(params, subscription["metadata"])
        previous = self._change_locked(subscription, changes)
        if previous:
            self._event_locked("customer.subscription.updated", subscription, previous, call)
        return subscription

    def _cancel_subscription(self, subscription_id: str, params: Obj, call: _Call) -> Obj:
        subscription = self._subscription_locked(subscription_id)
        if subscription["status"] == "canceled":
            # Stripe's answer, though one can still retrieve it
            raise _missing("subscription", subscription_id, "id", 404)
        now = _now()
        subscription.update(status="canceled", canceled_at=now, ended_at=now)
        self._event_locked("customer.subscription.deleted", subscription, None, call)
        return subscription

    def _list_locked(self, objects: list[Obj], params: Obj, url: str) -> Obj:
        limit = _int(params, "limit", minimum=1, maximum=100) or 10
        newest_first = sorted(objects, key=lambda obj: obj["created"], reverse=True)
        after = _string(params, "starting_after")
        if after is not None:
            ids = [obj["id"] for obj in newest_first]
            if after not in ids:
                raise _missing("object", after, "starting_after")
            newest_first = newest_first[ids.index(after) + 1 :]
        return {"object": "list", "data": newest_first[:limit], "has_more": len(newest_first) > limit, "url": url}

    def _list_subscriptions(self, _: str, params: Obj, call: _Call) -> Obj:
        status = _string(params, "status")
        if status is not None and status not in (*SUBSCRIPTION_STATUSES, "all", "ended"):
            raise _StripeError(400, f"Invalid status: {status}", param="status")
        customer, price = _string(params, "customer"), _string(params, "price")

        def wanted(subscription: Obj) -> bool:
            if status is None:
                matches_status = subscription["status"] != "canceled"  # Stripe's default
            elif status == "ended":
                matches_status = subscription["status"] in ("canceled", "incomplete_expired")
            else:
                matches_status = status in ("all", subscription["status"])
            prices = {item["price"]["id"] for item in subscription["items"]["data"]}
            return (
                matches_status and customer in (None, subscription["customer"]) and (price is None or price in prices)
            )

        # reversed: newest first among those made within the same second too
        chosen = [s for s in reversed(self._state.subscriptions.values()) if wanted(s)]
        return self._list_locked(chosen, params, "/v1/subscriptions")

    def _list_invoices(self, _: str, params: Obj, call: _Call) -> Obj:
        customer, subscription, status = (_string(params, name) for name in ("customer", "subscription", "status"))

        def wanted(invoice: Obj) -> bool:
            details = (invoice["parent"] or {}).get("subscription_details") or {}
            return (
                customer in (None, invoice["customer"])
                and subscription in (None, details.get("subscription"))
                and status in (None, invoice["status"])
            )

        chosen = [i for i in reversed(self._state.invoices.values()) if wanted(i)]
        return self._list_locked(chosen, params, "/v1/invoices")

    # ------------------------------------------------------------------ hosted pages

    def _pay_page(self, session_id: str) -> Reply:
        with self._lock:
            session = copy.deepcopy(self._state.checkout_sessions.get(session_id))
            checkout = self._state.checkouts.get(session_id)
            price = copy.deepcopy(self._state.prices[checkout.price]) if checkout else None
            promo = (
                copy.deepcopy(self._state.promotion_codes[checkout.promotion_code])
                if checkout and checkout.promotion_code
                else None
            )
            coupon = copy.deepcopy(self._state.coupons[promo["promotion"]["coupon"]]) if promo else None
            allow_codes = checkout.allow_promotion_codes if checkout else False
        if session is None or checkout is None or price is None:
            return _page(404, "Checkout", "<p>This checkout session does not exist.</p>")
        if session["status"] != "open":
            return _page(200, "Checkout", "<h1>Thanks for your order</h1><p>This checkout session is complete.</p>")
        amount = _money(price["unit_amount"] * checkout.quantity, price["currency"])
        parts = [
            f'<h1>Subscribe to <span class="price">{html.escape(price["id"])}</span></h1>',
            f'<p class="amount">{html.escape(amount)} per month</p>',
        ]
        if promo and coupon:
            parts.append(
                f'<p class="discount">Promotion code {html.escape(promo["code"])}: {coupon["percent_off"]}% off</p>'
            )
        code_field = '<label>Promotion code <input name="promotion_code"></label>' if allow_codes else ""
        parts.append(
            f'<form method="post" action="/pay/{html.escape(session_id)}">{code_field}'
            '<button type="submit">Subscribe</button></form>'
        )
        if session["cancel_url"]:
            parts.append(f'<p><a href="{html.escape(session["cancel_url"])}">Back</a></p>')
        return _page(200, "Checkout", "".join(parts))

    def _pay(self, session_id: str, request: Received) -> Reply:
        try:
            form = parse_params(request.body.decode("utf-8", "replace"))
        except _StripeError:
            form = {}
        code = form.get("promotion_code")
        code = code.strip() if isinstance(code, str) and code.strip() else None
        with self._lock:
            session = self._state.checkout_sessions.get(session_id)
            if session is None:
                return _page(404, "Checkout", "<p>This checkout session does not exist.</p>")
            try:
                _, events = self._complete_locked(session_id, code)
            except ValueError as error:  # not open any more, or a bad promotion code
                return _page(400, "Checkout", f"<p>{html.escape(str(error))}</p>")
            success_url = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session_id)
        self._deliver_all(events)
        return _see_other(success_url)

    def _portal_page(self, portal_id: str) -> Reply:
        with self._lock:
            portal = self._state.portal_sessions.get(portal_id)
            if portal is None:
                return _page(404, "Billing", "<p>This portal session does not exist.</p>")
            customer = portal["customer"]
            subscriptions = copy.deepcopy(
                [s for s in reversed(self._state.subscriptions.values()) if s["customer"] == customer]
            )
            cancellable = self._cancellable_locked(customer) is not None
            return_url = portal["return_url"]
        rows = []
        for subscription in subscriptions:
            prices = ", ".join(item["price"]["id"] for item in subscription["items"]["data"])
            if subscription["status"] == "canceled":
                state = "canceled"
            elif subscription["cancel_at_period_end"]:
                state = f"{subscription['status']}, cancels on {_day(_period_end(subscription))}"
            else:
                state = f"{subscription['status']}, renews on {_day(_period_end(subscription))}"
            rows.append(
                f'<li class="subscription" data-id="{html.escape(subscription["id"])}">'
                f"{html.escape(prices)}: {html.escape(state)}</li>"
            )
        parts = ["<h1>Your plan</h1>", f"<ul>{''.join(rows)}</ul>" if rows else "<p>No subscriptions.</p>"]
        if cancellable:
            parts.append(
                f'<form method="post" action="/portal/{html.escape(portal_id)}/cancel">'
                '<button type="submit">Cancel plan</button></form>'
            )
        if return_url:
            parts.append(f'<p><a href="{html.escape(return_url)}">Return</a></p>')
        return _page(200, "Billing", "".join(parts))

    def _portal_cancel(self, portal_id: str) -> Reply:
        with self._lock:
            portal = self._state.portal_sessions.get(portal_id)
            if portal is None:
                return _page(404, "Billing", "<p>This portal session does not exist.</p>")
            subscription = self._cancellable_locked(portal["customer"])
            if subscription is None:
                return _page(400, "Billing", "<p>There is no plan to cancel.</p>")
            previous = self._change_locked(subscription, {"cancel_at_period_end": True})
            event = copy.deepcopy(self._event_locked("customer.subscription.updated", subscription, previous))
            location = portal["return_url"] or f"/portal/{portal_id}"
        self._deliver_all([event])
        return _see_other(location)

    def _deliver_all(self, events: list[Obj]) -> None:
        """Outside the lock: the app's webhook handler may well call this stand-in's API."""
        if self.webhook_url is None:
            return
        for event in events:
            self.deliver(event)


class _Handler(_WebhookHandler):
    def _serve(self) -> None:
        _target.value = self.path
        super()._serve()
