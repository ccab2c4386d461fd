"""Strict-mode reservations (``observe(strict_caps=True)``): hold a call's worst case before it
leaves, settle it with the real usage after. Served by the process that runs the cap monitor."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi import APIRouter, HTTPException, Request, Response

from .._call_cost import DEFAULT_MAX_OUTPUT_TOKENS, call_cost
from .._cap_status_models import ReservationIn, ReservationPublic, ReservationsPublic, SettleIn, SettlePublic
from .._money import exact_text
from .._reservations import Blocked, Reservations, TooManyReservations
from ..deps import ReadPrincipal, SenderPrincipal
from .caps import blocked_by

router = APIRouter(prefix="/api/v1/caps/reservations", tags=["caps"])

_RES_ID = re.compile(r"^res_[0-9a-f]{16}$")


def _ledger(request: Request) -> Reservations:
    ledger = request.app.state.reservations
    if ledger is None:
        raise HTTPException(503, "strict-mode reservations are served by the process running the cap monitor; "
                                 "route /api/v1/caps/reservations to it")
    return ledger  # type: ignore[no-any-return]


@router.post("", response_model=ReservationPublic, status_code=201, summary="Reserve a call's worst-case cost",
             responses={200: {"model": ReservationPublic, "description": "no hard-block cap applies"},
                        409: {"description": "admitting the call could overrun a hard-block cap"}})
def reserve(body: ReservationIn, request: Request, response: Response, principal: SenderPrincipal) -> ReservationPublic:
    worst, _ = call_cost(request.app.state.pricer, request.app.state.prices.for_tenant(principal.tenant),
                         body.provider, body.model, body.input_bytes,
                         DEFAULT_MAX_OUTPUT_TOKENS if body.max_output_tokens is None else body.max_output_tokens)
    labels = body.model_dump(include={"provider", "model", "agent", "customer", "service"})
    try:
        held = _ledger(request).reserve(principal.tenant, labels, worst)
    except Blocked as exc:
        raise HTTPException(409, {"message": "this call could overrun a spending cap (strict mode)",
                                  "blocked_by": [b.model_dump(mode="json") for b in blocked_by(list(exc.caps))]}) from None
    except TooManyReservations as exc:
        raise HTTPException(429, str(exc)) from None
    if held is None:
        response.status_code = 200
        return ReservationPublic(id=None, reserved_usd="0")
    return ReservationPublic(id=held.id, reserved_usd=exact_text(worst), expires_at=held.expires_at)


@router.post("/{reservation_id}/settle", response_model=SettlePublic, summary="Settle a reservation with the call's usage")
def settle(reservation_id: str, body: SettleIn, request: Request, principal: SenderPrincipal) -> SettlePublic:
    ledger = _ledger(request)
    custom = request.app.state.prices.for_tenant(principal.tenant)

    def price(provider: str, model: str) -> Decimal:
        return call_cost(request.app.state.pricer, custom, provider, model, body.input_tokens, body.output_tokens,
                         body.cache_read_tokens, body.cache_write_tokens)[0]

    cost = ledger.settle(principal.tenant, reservation_id, price) if _RES_ID.match(reservation_id) else None
    if cost is None:
        raise HTTPException(404, f"no open reservation {reservation_id!r} (settled, released or expired)")
    return SettlePublic(id=reservation_id, cost_usd=exact_text(cost))


@router.delete("/{reservation_id}", status_code=204, summary="Release a reservation: the call cost nothing")
def release(reservation_id: str, request: Request, principal: SenderPrincipal) -> Response:
    if not _RES_ID.match(reservation_id) or not _ledger(request).release(principal.tenant, reservation_id):
        raise HTTPException(404, f"no open reservation {reservation_id!r}")
    return Response(status_code=204)


@router.get("", response_model=ReservationsPublic, summary="Open reservations of this tenant")
def open_reservations(request: Request, principal: ReadPrincipal) -> ReservationsPublic:
    count, amount = _ledger(request).open_reservations(principal.tenant)
    return ReservationsPublic(open=count, reserved_usd=exact_text(amount))
