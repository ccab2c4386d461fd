"""``Billing``: Checkout, the customer portal, webhooks, promo codes and a workspace's plan and usage."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import stripe

from llmobserve.control import Account, BillingRecords, PromoRefused, Subscription

from ._config import BillingConfig
from ._plans import FREE, month_start, plan_of
from ._stripe import event_refs, make_client, subscription_from

__all__ = ["PROMO_PROBLEMS", "Billing", "BillingError", "BillingStatus", "StripeUnavailable", "WebhookRefused"]

log = logging.getLogger("llmobserve.billing")

PROMO_PROBLEMS = {
    "unknown": (404, "no such promo code"),
    "expired": (410, "this promo code has expired"),
    "exhausted": (409, "this promo code has been used as many times as it may be"),
    "disabled": (410, "this promo code has been withdrawn"),
    "redeemed": (409, "this workspace has already redeemed this promo code"),
}
"""Each refusal of a promo code: (HTTP status, what the person is told)."""

HANDLED = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "invoice.paid",
        "invoice.payment_failed",
    }
)


class BillingError(Exception):
    """A request billing refuses: ``status`` is the HTTP status, ``str()`` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class WebhookRefused(BillingError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class StripeUnavailable(BillingError):
    """Stripe did not answer: retry later (HTTP 503; Stripe redelivers a webhook answered so)."""

    def __init__(self, message: str) -> None:
        super().__init__(503, message)


@dataclass(frozen=True, slots=True)
class BillingStatus:
    workspace: str
    plan: str
    reason: str
    plan_until: datetime | None
    status: str | None  # Stripe's subscription status
    current_period_end: datetime | None
    cancel_at_period_end: bool
    promo_until: datetime | None
    customer: bool  # has a Stripe customer (the portal works)
    month: date
    spans_used: int
    allowance: int | None  # None: unlimited
    refused_month: int
    refused_today: int


def _stripe_error(what: str, exc: stripe.StripeError) -> BillingError:
    """Stripe down or busy: retry later (503); Stripe refused the request: 502, with its reason."""
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or (exc.http_status or 500) >= 500:
        return StripeUnavailable(f"Stripe did not answer ({what}); try again in a minute")
    log.error("Stripe refused %s: %s", what, exc)
    return BillingError(502, f"Stripe refused {what}: {exc.user_message or exc}")


class Billing:
    def __init__(
        self,
        records: BillingRecords,
        config: BillingConfig,
        client: stripe.StripeClient | None = None,
        on_change: Callable[[str], None] = lambda workspace: None,
    ) -> None:
        self.records = records
        self.config = config
        self.client = client or make_client(config)
        self.on_change = on_change
        """Called with a workspace whose plan may have changed (the ingest gate forgets it)."""

    # plan and usage
    def status(self, workspace: str, now: datetime | None = None) -> BillingStatus:
        now = now or datetime.now(UTC)
        account = self.records.account(workspace)
        plan = plan_of(account, now, self.config.grace_days)
        first = month_start(now.date())
        days = self.records.usage_days(workspace, first, now.date())
        used, refused = sum(d[1] for d in days), sum(d[2] for d in days)
        refused_today = sum(d[2] for d in days if d[0] == now.date())
        return BillingStatus(
            workspace=workspace,
            plan=plan.name,
            reason=plan.reason,
            plan_until=plan.until,
            status=account.status,
            current_period_end=account.current_period_end,
            cancel_at_period_end=account.cancel_at_period_end,
            promo_until=account.promo_until,
            customer=account.customer_id is not None,
            month=first,
            spans_used=used,
            allowance=self.config.free_spans if plan.name == FREE else None,
            refused_month=refused,
            refused_today=refused_today,
        )

    # Checkout and the portal
    def _customer(self, account: Account, email: str | None, name: str) -> str:
        workspace = account.workspace
        if account.customer_id:
            return account.customer_id
        params: dict[str, object] = {"name": name, "metadata": {"workspace": workspace}}
        if email:
            params["email"] = email
        # One key per workspace and address: two racing first checkouts make one customer.
        key = "llmo-customer-" + hashlib.sha256(f"{workspace}\n{email}\n{name}".encode()).hexdigest()[:32]
        try:
            customer = self.client.v1.customers.create(params, {"idempotency_key": key})  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise _stripe_error("creating the customer", exc) from exc
        return self.records.set_customer(workspace, customer.id)

    def checkout(
        self, workspace: str, base_url: str, email: str | None, name: str, promotion_code: str | None = None
    ) -> str:
        """A Stripe Checkout URL for ``pro``; the person comes back to the Billing page."""
        if self.config.price_pro is None:
            raise BillingError(503, "no price is configured for pro (LLMOBSERVE_STRIPE_PRICE_PRO)")
        account = self.records.account(workspace)
        if account.status in ("active", "trialing", "past_due"):
            raise BillingError(409, "this workspace already has a subscription: manage it in the customer portal")
        customer = self._customer(account, email, name)
        params: dict[str, object] = {
            "mode": "subscription",
            "customer": customer,
            "client_reference_id": workspace,
            "line_items": [{"price": self.config.price_pro, "quantity": 1}],
            # Stripe fills in the session's id: the page reads it back at once (see ``sync_checkout``)
            "success_url": f"{base_url}/billing?checkout=done&session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{base_url}/billing?checkout=canceled",
            "metadata": {"workspace": workspace},
            "subscription_data": {"metadata": {"workspace": workspace}},
        }
        if promotion_code:
            params["discounts"] = [{"promotion_code": promotion_code}]
        else:
            params["allow_promotion_codes"] = True
        try:
            session = self.client.v1.checkout.sessions.create(
                params,  # type: ignore[arg-type]  # a plain dict of the documented fields
                {"idempotency_key": f"llmo-checkout-{workspace}-{uuid.uuid4().hex}"},
            )
        except stripe.StripeError as exc:
            raise _stripe_error("creating the checkout session", exc) from exc
        return str(session.url)

    def sync_checkout(self, workspace: str, session_id: str) -> bool:
        """Read a completed Checkout session of ``workspace`` and write its subscription, so the page the
        person returns to shows what they paid for even when the webhook is late (or not set up);
        the webhook, when it comes, writes the same. False when there is nothing to write."""
        if not session_id.startswith("cs_") or len(session_id) > 255:
            return False
        try:
            session = self.client.v1.checkout.sessions.retrieve(session_id)
            reference, subscription_id, _ = event_refs("checkout.session.completed", session)
            if reference != workspace or not subscription_id:
                return False
            subscription = self._subscription(subscription_id)
        except (stripe.StripeError, BillingError) as exc:  # the webhook will bring it
            log.warning("could not read checkout session %s: %s", session_id, exc)
            return False
        self.records.write_subscription(workspace, subscription)
        self.on_change(workspace)
        return True

    def _subscription(self, subscription_id: str) -> Subscription:
        """The subscription as it is now (what events only hint at: they come late, twice, out of order)."""
        synced_at = datetime.now(UTC)
        try:
            found = self.client.v1.subscriptions.retrieve(subscription_id)
        except stripe.StripeError as exc:
            raise _stripe_error("retrieving the subscription", exc) from exc
        return subscription_from(found, synced_at)

    def portal(self, workspace: str, base_url: str) -> str:
        account = self.records.account(workspace)
        if account.customer_id is None:
            raise BillingError(409, "this workspace has no Stripe customer yet: upgrade first")
        try:
            session = self.client.v1.billing_portal.sessions.create(
                {"customer": account.customer_id, "return_url": f"{base_url}/billing"},
                {"idempotency_key": f"llmo-portal-{workspace}-{uuid.uuid4().hex}"},
            )
        except stripe.StripeError as exc:
            raise _stripe_error("opening the customer portal", exc) from exc
        return str(session.url)

    # promo codes
    def redeem(self, workspace: str, code: str, base_url: str, email: str | None, name: str) -> tuple[str, str | None]:
        """("granted", None), or ("checkout", url) for a code Stripe applies at Checkout."""
        code = code.strip()
        if not code or len(code) > 64:
            raise BillingError(422, "a promo code is 1 to 64 characters")
        found = self.records.promo(code)
        url = None
        if (
            found is not None
            and found.stripe_promotion_code is not None
            and found.status(datetime.now(UTC)) == "active"
        ):
            # Checkout first: a redemption is taken only once there is a page to use it on (a session
            # made for a redemption then refused is never opened, and expires).
            url = self.checkout(workspace, base_url, email, name, found.stripe_promotion_code)
        try:
            self.records.redeem(code, workspace)
        except PromoRefused as exc:
            raise BillingError(*PROMO_PROBLEMS[exc.kind]) from None
        if url is not None:
            return "checkout", url
        self.on_change(workspace)
        return "granted", None

    # webhooks
    def webhook(self, payload: bytes, signature: str | None) -> str:
        """Verify and apply one Stripe event; what was done (``applied``, ``duplicate``, ...)."""
        if not signature:
            raise WebhookRefused("missing Stripe-Signature header")
        try:
            event = self.client.construct_event(payload, signature, self.config.webhook_secret or "")
        except stripe.SignatureVerificationError as exc:
            raise WebhookRefused(f"bad signature: {exc.user_message or exc}") from None
        except ValueError:
            raise WebhookRefused("the body is not a Stripe event") from None
        if self.records.seen_event(event.id):
            return "duplicate"
        created = datetime.fromtimestamp(int(event.created), UTC)
        if event.type not in HANDLED:
            return (
                "applied"
                if self.records.apply_event(event.id, event.type, created, None, None, "ignored")
                else "duplicate"
            )
        reference, subscription_id, customer_id = event_refs(event.type, event.data.object)
        workspace = self.records.find_workspace(reference, subscription_id, customer_id)
        subscription = None
        if workspace is not None and subscription_id:
            subscription = self._subscription(subscription_id)
        outcome = "applied" if subscription else ("recorded" if workspace else "unknown customer")
        if not self.records.apply_event(event.id, event.type, created, workspace, subscription, outcome):
            return "duplicate"
        if workspace is not None:
            self.on_change(workspace)
        return outcome
