"""Billing (owner only: plan, usage, upgrade through Stripe Checkout, the customer portal, promo codes)
and the public Pricing page. Both exist only while billing is on; each change is the API's own
service (``query_api.services.billing``)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from llmobserve.query_api.deps import ServicesDep
from llmobserve.query_api.services import ServiceError
from llmobserve.query_api.services import billing as billing_service

from ._web import Page, PageDep, check_csrf, render

router = APIRouter(include_in_schema=False)

_RETURNS = {
    "done": "Thank you: your payment went through.",
    "canceled": "Checkout was canceled; nothing was charged.",
}


def _owner_page(p: Page) -> None:
    if not p.principal.allows("owner"):
        raise HTTPException(403, "only the workspace's owner sees and changes its billing")
    if p.services.billing is None:
        raise HTTPException(404, "billing is off on this server: every workspace is unlimited")


def _billing_page(request: Request, p: Page, status: int = 200) -> HTMLResponse:
    _owner_page(p)
    session_id = request.query_params.get("session_id")
    if request.query_params.get("checkout") == "done" and session_id:
        billing_service.returned_from_checkout(p.services, p.principal, session_id)
    found = billing_service.status(p.services, p.tenant)
    percent = round(100 * found.spans_used / found.allowance) if found.allowance else 0
    notice = _RETURNS.get(request.query_params.get("checkout", ""))
    if notice:
        p.session.flash.append(notice)
    return render(
        request,
        "billing.html",
        status_code=status,
        form_targets=p.services.billing.config.hosted_origins if p.services.billing else (),
        **p.context("Billing", "/billing"),
        billing=found,
        percent=percent,
        state="exceeded" if percent >= 100 else "warning" if percent >= 80 else "",
    )


@router.get("/billing", response_class=HTMLResponse)
def billing_page(request: Request, p: PageDep) -> HTMLResponse:
    return _billing_page(request, p)


async def _to_stripe(request: Request, p: Page, make: str) -> Response:
    await check_csrf(request, p.session)
    _owner_page(p)
    work = billing_service.checkout if make == "checkout" else billing_service.portal
    try:
        url = await run_in_threadpool(work, p.services, p.principal)
    except ServiceError as exc:
        p.session.flash.append(str(exc.detail))
        return await run_in_threadpool(_billing_page, request, p, exc.status)
    return RedirectResponse(url, status_code=303)


@router.post("/billing/checkout")
async def checkout(request: Request, p: PageDep) -> Response:
    return await _to_stripe(request, p, "checkout")


@router.post("/billing/portal")
async def portal(request: Request, p: PageDep) -> Response:
    return await _to_stripe(request, p, "portal")


@router.post("/billing/promo")
async def promo(request: Request, p: PageDep) -> Response:
    form = await check_csrf(request, p.session)
    _owner_page(p)
    code = str(form.get("code", "")).strip()
    try:
        result, url = await run_in_threadpool(billing_service.redeem_promo, p.services, p.principal, code)
    except ServiceError as exc:
        p.session.flash.append(str(exc.detail))
        return await run_in_threadpool(_billing_page, request, p, exc.status)
    if result == "checkout" and url:
        return RedirectResponse(url, status_code=303)
    p.session.flash.append("Promo code redeemed: this workspace is on pro.")
    return RedirectResponse("/billing", status_code=303)


@router.get("/pricing", response_class=HTMLResponse)
def pricing(request: Request, svc: ServicesDep) -> HTMLResponse:
    if svc.billing is None:
        raise HTTPException(404, "billing is off on this server: every workspace is unlimited")
    return render(
        request,
        "pricing.html",
        title="Pricing",
        nav=False,
        free_spans=svc.billing.config.free_spans,
        grace_days=svc.billing.config.grace_days,
        price_label=svc.billing.config.price_label,
    )
