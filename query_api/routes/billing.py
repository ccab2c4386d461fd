from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from llmobserve.billing import BillingStatus

from ..deps import AdminPrincipal, ServicesDep
from ..schemas.billing import BillingPublic, BillingUrl, PromoRedeem, PromoRedeemed, WebhookReceived
from ..services import billing

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])


def public(found: BillingStatus) -> BillingPublic:
    return BillingPublic(
        plan=found.plan,
        reason=found.reason,
        plan_until=found.plan_until,
        status=found.status,
        current_period_end=found.current_period_end,
        cancel_at_period_end=found.cancel_at_period_end,
        promo_until=found.promo_until,
        has_customer=found.customer,
        month=found.month,
        spans_used=found.spans_used,
        spans_allowance=found.allowance,
        spans_refused_month=found.refused_month,
        spans_refused_today=found.refused_today,
    )


@router.get("", response_model=BillingPublic, summary="The workspace's plan, subscription and spans used this month")
def get_billing(principal: AdminPrincipal, svc: ServicesDep) -> BillingPublic:
    return public(billing.status(svc, principal.tenant))


@router.post("/checkout", response_model=BillingUrl, summary="A Stripe Checkout page to subscribe to pro (owner)")
def checkout(principal: AdminPrincipal, svc: ServicesDep) -> BillingUrl:
    return BillingUrl(url=billing.checkout(svc, principal))


@router.post("/portal", response_model=BillingUrl, summary="The Stripe customer portal: invoices, card, cancel (owner)")
def portal(principal: AdminPrincipal, svc: ServicesDep) -> BillingUrl:
    return BillingUrl(url=billing.portal(svc, principal))


@router.post("/promo", response_model=PromoRedeemed, summary="Redeem a promo code (owner)")
def redeem_promo(body: PromoRedeem, principal: AdminPrincipal, svc: ServicesDep) -> PromoRedeemed:
    result, url = billing.redeem_promo(svc, principal, body.code)
    return PromoRedeemed(
        result=result,
        url=url,
        billing=public(billing.status(svc, principal.tenant)),
    )


@router.post(
    "/webhook",
    response_model=WebhookReceived,
    summary="Stripe's events (signed with STRIPE_WEBHOOK_SECRET; no API key)",
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}, "required": True}},
)
async def webhook(request: Request, svc: ServicesDep) -> WebhookReceived:
    payload = await request.body()  # verbatim: the signature covers these bytes
    outcome = await run_in_threadpool(billing.webhook, svc, payload, request.headers.get("stripe-signature"))
    return WebhookReceived(outcome=outcome)
