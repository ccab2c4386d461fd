"""Billing as the API and the dashboard use it: owner-only changes, audited, with billing's refusals
as service errors."""

from __future__ import annotations

from typing import ClassVar, NoReturn

from llmobserve.billing import Billing, BillingError, BillingStatus
from llmobserve.control import Principal

from ._services import Services
from .errors import BadRequest, Conflict, NotFound, RateLimited, ServiceError, Unavailable
from .people import Forbidden, record

__all__ = ["BillingOff", "checkout", "portal", "redeem_promo", "returned_from_checkout", "status", "webhook"]


class BillingOff(NotFound):
    def __init__(self) -> None:
        super().__init__("billing is off on this server (STRIPE_SECRET_KEY is not set): every workspace is unlimited")


class Gone(ServiceError):
    status: ClassVar[int] = 410


class BadGateway(ServiceError):
    status: ClassVar[int] = 502


_ERRORS: dict[int, type[ServiceError]] = {
    400: BadRequest,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: BadRequest,
    502: BadGateway,
    503: Unavailable,
}


def _raise(exc: BillingError) -> NoReturn:
    raise _ERRORS.get(exc.status, BadRequest)(str(exc)) from None


def _billing(svc: Services) -> Billing:
    if svc.billing is None:
        raise BillingOff()
    return svc.billing


def _owner(principal: Principal) -> None:
    if principal.role is not None and principal.role != "owner":
        raise Forbidden("only the workspace's owner manages its billing")


def _who(svc: Services, principal: Principal) -> tuple[str | None, str]:
    """(e-mail, name) for the Stripe customer."""
    user = svc.control.people.user(principal.user_id) if principal.user_id else None
    name = svc.control.people.workspace_name(principal.tenant) or principal.tenant
    return (user.email if user else None), name


def status(svc: Services, tenant: str) -> BillingStatus:
    return _billing(svc).status(tenant)


def checkout(svc: Services, principal: Principal) -> str:
    _owner(principal)  # first: an admin learns the same whether billing is on or off
    billing = _billing(svc)
    email, name = _who(svc, principal)
    try:
        url = billing.checkout(principal.tenant, svc.public_url, email, name)
    except BillingError as exc:
        _raise(exc)
    record(svc.control, principal.tenant, principal, "billing.checkout", "pro")
    return url


def returned_from_checkout(svc: Services, principal: Principal, session_id: str) -> None:
    """The owner is back from paying: show what they paid for without waiting for the webhook."""
    _owner(principal)
    _billing(svc).sync_checkout(principal.tenant, session_id)


def portal(svc: Services, principal: Principal) -> str:
    _owner(principal)  # first: an admin learns the same whether billing is on or off
    billing = _billing(svc)
    try:
        return billing.portal(principal.tenant, svc.public_url)
    except BillingError as exc:
        _raise(exc)


def redeem_promo(svc: Services, principal: Principal, code: str) -> tuple[str, str | None]:
    _owner(principal)  # first: an admin learns the same whether billing is on or off
    billing = _billing(svc)
    wait = svc.promo_attempts.admit(principal.tenant)
    if wait:
        raise RateLimited(f"too many promo code attempts; try again in {wait} s", wait)
    email, name = _who(svc, principal)
    try:
        result, url = billing.redeem(principal.tenant, code, svc.public_url, email, name)
    except BillingError as exc:
        _raise(exc)
    record(svc.control, principal.tenant, principal, "billing.promo", result)
    return result, url


def webhook(svc: Services, payload: bytes, signature: str | None) -> str:
    billing = _billing(svc)
    try:
        return billing.webhook(payload, signature)
    except BillingError as exc:
        _raise(exc)
