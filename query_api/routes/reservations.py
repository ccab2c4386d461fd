"""Strict-mode reservations (``observe(strict_caps=True)``): hold a call's worst case before it
leaves, settle it with the real usage after. Served by the process that runs the cap monitor."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ..deps import ReadPrincipal, SenderPrincipal, ServicesDep
from ..schemas.reservations import ReservationIn, ReservationPublic, ReservationsPublic, SettleIn, SettlePublic
from ..services import reservations

router = APIRouter(prefix="/api/v1/caps/reservations", tags=["caps"])


@router.post(
    "",
    response_model=ReservationPublic,
    status_code=201,
    summary="Reserve a call's worst-case cost",
    responses={
        200: {"model": ReservationPublic, "description": "no hard-block cap applies"},
        409: {"description": "admitting the call could overrun a hard-block cap"},
    },
)
def reserve(body: ReservationIn, response: Response, principal: SenderPrincipal, svc: ServicesDep) -> ReservationPublic:
    held = reservations.reserve(svc, principal.tenant, body)
    if held.id is None:
        response.status_code = 200
    return held


@router.post(
    "/{reservation_id}/settle", response_model=SettlePublic, summary="Settle a reservation with the call's usage"
)
def settle(reservation_id: str, body: SettleIn, principal: SenderPrincipal, svc: ServicesDep) -> SettlePublic:
    return reservations.settle(svc, principal.tenant, reservation_id, body)


@router.delete("/{reservation_id}", status_code=204, summary="Release a reservation: the call cost nothing")
def release(reservation_id: str, principal: SenderPrincipal, svc: ServicesDep) -> Response:
    reservations.release(svc, principal.tenant, reservation_id)
    return Response(status_code=204)


@router.get("", response_model=ReservationsPublic, summary="Open reservations of this tenant")
def open_reservations(principal: ReadPrincipal, svc: ServicesDep) -> ReservationsPublic:
    return reservations.open_reservations(svc, principal.tenant)
