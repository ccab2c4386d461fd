from __future__ import annotations

from fastapi import APIRouter, Query, Response

from ..deps import AdminPrincipal, ReadPrincipal, SenderPrincipal, ServicesDep
from ..schemas.caps import (
    CapCreated,
    CapIn,
    CapPatch,
    CapPublic,
    CapsPublic,
    CapStatusPublic,
    CheckPublic,
    StatusPublic,
    WebhookSecretPublic,
)
from ..services import caps

router = APIRouter(prefix="/api/v1/caps", tags=["caps"])


@router.get("/status", response_model=StatusPublic, summary="Where each cap stands: spend this period, reset, state")
def caps_status(
    principal: SenderPrincipal,
    svc: ServicesDep,
    customer: list[str] = Query([], max_length=100, description="also report these customers of each_customer caps"),
    model: list[str] = Query([], max_length=50, description="`provider/model`: include its per-token rates"),
) -> StatusPublic:
    """Answers ingest-only keys too: it is what the SDK polls to block calls over a hard-block cap."""
    return caps.caps_status(
        svc, principal.tenant, customer, model, reader=principal.allows("read"), admin=principal.allows("admin")
    )


@router.get("/check", response_model=CheckPublic, summary="Would a call with these labels be blocked now?")
def caps_check(
    principal: SenderPrincipal,
    svc: ServicesDep,
    provider: str = Query("", max_length=256),
    model: str = Query("", max_length=256),
    agent: str = Query("", max_length=256),
    customer: str = Query("", max_length=256),
    service: str = Query("", max_length=256),
) -> CheckPublic:
    """For apps without the SDK (any OTel app, a gateway): ask before sending. Only enabled
    ``hard_block`` caps block; the answer is as fresh as ``/caps/status``'s (see ``_status_cache``)."""
    labels = {"provider": provider, "model": model, "agent": agent, "customer": customer, "service": service}
    return caps.caps_check(svc, principal.tenant, labels)


@router.get("", response_model=CapsPublic, summary="The tenant's spending caps")
def list_caps(principal: ReadPrincipal, svc: ServicesDep) -> CapsPublic:
    """Webhook URLs in full for admin keys only: Slack's and Discord's carry their secret in the path."""
    return caps.list_caps(svc, principal.tenant, admin=principal.allows("admin"))


@router.post("", response_model=CapCreated, status_code=201, summary="Create a spending cap")
def create_cap(body: CapIn, principal: AdminPrincipal, svc: ServicesDep) -> CapCreated:
    """E-mails each recipient not yet confirmed a link to confirm (no alert goes to it before); the
    answer holds the cap's webhook signing secret, which no read shows again."""
    return caps.create_cap(svc, principal.tenant, body, by=principal)


@router.get("/{cap_id}", response_model=CapStatusPublic, summary="One spending cap and where it stands")
def get_cap(cap_id: str, principal: ReadPrincipal, svc: ServicesDep) -> CapStatusPublic:
    return caps.get_cap(svc, principal.tenant, cap_id, admin=principal.allows("admin"))


@router.patch("/{cap_id}", response_model=CapPublic, summary="Change some fields of a spending cap")
def patch_cap(cap_id: str, body: CapPatch, principal: AdminPrincipal, svc: ServicesDep) -> CapPublic:
    """Recipients not yet confirmed are e-mailed a link, as at create (again only an hour after the last)."""
    return caps.patch_cap(svc, principal.tenant, cap_id, body, by=principal)


@router.post(
    "/{cap_id}/webhook-secret",
    response_model=WebhookSecretPublic,
    summary="Replace the cap's webhook signing secret; the new one is shown once",
)
def rotate_webhook_secret(cap_id: str, principal: AdminPrincipal, svc: ServicesDep) -> WebhookSecretPublic:
    return caps.rotate_webhook_secret(svc, principal.tenant, cap_id, by=principal)


@router.delete("/{cap_id}", status_code=204, summary="Delete a spending cap")
def delete_cap(cap_id: str, principal: AdminPrincipal, svc: ServicesDep) -> Response:
    caps.delete_cap(svc, principal.tenant, cap_id, by=principal)
    return Response(status_code=204)
