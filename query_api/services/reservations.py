"""Strict-mode reservations (``observe(strict_caps=True)``): hold a call's worst case before it
leaves, settle it with the real usage after. Served by the process that runs the cap monitor."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

from llmobserve.caps import DEFAULT_MAX_OUTPUT_TOKENS, Blocked, TooManyReservations, call_cost
from llmobserve.pricing import exact_text

from ..schemas.reservations import ReservationIn, ReservationPublic, ReservationsPublic, SettleIn, SettlePublic
from .caps import blocked_by
from .errors import Conflict, NotFound, RateLimited

if TYPE_CHECKING:
    from ._services import Services

__all__ = ["open_reservations", "release", "reserve", "settle"]

_RES_ID = re.compile(r"^res_[0-9a-f]{16}$")


def reserve(svc: Services, tenant: str, body: ReservationIn) -> ReservationPublic:
    """Hold the call's worst case; ``id`` is None when no hard-block cap applies (nothing to settle)."""
    worst, _ = call_cost(
        svc.pricer,
        svc.prices.for_tenant(tenant),
        body.provider,
        body.model,
        body.input_bytes,
        DEFAULT_MAX_OUTPUT_TOKENS if body.max_output_tokens is None else body.max_output_tokens,
    )
    labels = body.model_dump(include={"provider", "model", "agent", "customer", "service"})
    try:
        held = svc.reservations.reserve(tenant, labels, worst)
    except Blocked as exc:
        raise Conflict(
            {
                "message": "this call could overrun a spending cap (strict mode)",
                "blocked_by": [b.model_dump(mode="json") for b in blocked_by(list(exc.caps))],
            }
        ) from None
    except TooManyReservations as exc:
        raise RateLimited(str(exc), retry_after_s=1) from None
    if held is None:
        return ReservationPublic(id=None, reserved_usd="0")
    return ReservationPublic(id=held.id, reserved_usd=exact_text(worst), expires_at=held.expires_at)


def settle(svc: Services, tenant: str, reservation_id: str, body: SettleIn) -> SettlePublic:
    ledger = svc.reservations
    custom = svc.prices.for_tenant(tenant)

    def price(provider: str, model: str) -> Decimal:
        return call_cost(
            svc.pricer,
            custom,
            provider,
            model,
            body.input_tokens,
            body.output_tokens,
            body.cache_read_tokens,
            body.cache_write_tokens,
        )[0]

    cost = ledger.settle(tenant, reservation_id, price) if _RES_ID.match(reservation_id) else None
    if cost is None:
        raise NotFound(f"no open reservation {reservation_id!r} (settled, released or expired)")
    return SettlePublic(id=reservation_id, cost_usd=exact_text(cost))


def release(svc: Services, tenant: str, reservation_id: str) -> None:
    if not _RES_ID.match(reservation_id) or not svc.reservations.release(tenant, reservation_id):
        raise NotFound(f"no open reservation {reservation_id!r}")


def open_reservations(svc: Services, tenant: str) -> ReservationsPublic:
    count, amount = svc.reservations.open_reservations(tenant)
    return ReservationsPublic(open=count, reserved_usd=exact_text(amount))
