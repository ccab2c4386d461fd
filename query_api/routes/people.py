from __future__ import annotations

from fastapi import APIRouter, Query, Response

from llmobserve.control import Invitation

from ..deps import AdminPrincipal, ReadPrincipal, ServicesDep
from ..schemas.people import (
    AuditEntryPublic,
    AuditLog,
    InvitationCreate,
    InvitationCreated,
    InvitationPublic,
    Invitations,
    MemberPublic,
    Members,
    MemberUpdate,
)
from ..services import people

router = APIRouter(prefix="/api/v1", tags=["people"])


def _invitation(found: Invitation) -> InvitationPublic:
    return InvitationPublic(
        id=found.id,
        email=found.email,
        role=found.role,
        invited_by=found.invited_by,
        created_at=found.created_at,
        expires_at=found.expires_at,
        status=found.status(),
    )


@router.get("/members", response_model=Members, summary="The workspace's people and their roles")
def list_members(principal: ReadPrincipal, svc: ServicesDep) -> Members:
    found = [
        MemberPublic(user_id=m.user_id, name=m.name, email=m.email, role=m.role, joined_at=m.created_at)
        for m in people.list_members(svc.control, principal.tenant)
    ]
    return Members(data=found, count=len(found))


@router.patch("/members/{user_id}", status_code=204, summary="Change a member's role (owner)")
def change_role(user_id: str, body: MemberUpdate, principal: AdminPrincipal, svc: ServicesDep) -> Response:
    people.change_role(svc.control, principal, user_id, body.role)
    return Response(status_code=204)


@router.delete(
    "/members/{user_id}", status_code=204, summary="Remove a member (owner); effective at their next request"
)
def remove_member(user_id: str, principal: AdminPrincipal, svc: ServicesDep) -> Response:
    people.remove_member(svc.control, principal, user_id)
    return Response(status_code=204)


@router.get("/invitations", response_model=Invitations, summary="The workspace's invitations")
def list_invitations(principal: AdminPrincipal, svc: ServicesDep) -> Invitations:
    found = [_invitation(i) for i in people.list_invitations(svc.control, principal.tenant)]
    return Invitations(data=found, count=len(found))


@router.post("/invitations", response_model=InvitationCreated, status_code=201, summary="Invite someone by e-mail")
def invite(body: InvitationCreate, principal: AdminPrincipal, svc: ServicesDep) -> InvitationCreated:
    made, token = people.invite(svc.control, principal, body.email, body.role)
    url, mailed = people.send_invitation(svc, principal, made, token)
    return InvitationCreated(url=url, emailed=mailed, **_invitation(made).model_dump())


@router.delete("/invitations/{invitation_id}", status_code=204, summary="Withdraw a pending invitation")
def revoke_invitation(invitation_id: str, principal: AdminPrincipal, svc: ServicesDep) -> Response:
    people.revoke_invitation(svc.control, principal, invitation_id)
    return Response(status_code=204)


@router.get("/audit", response_model=AuditLog, summary="Who changed what in the workspace, newest first (admin)")
def audit(
    principal: AdminPrincipal,
    svc: ServicesDep,
    limit: int = Query(100, ge=1, le=1000),
    before: int | None = Query(None, ge=1, description="entries older than this id"),
) -> AuditLog:
    found = people.audit_log(svc.control, principal.tenant, limit, before)
    data = [
        AuditEntryPublic(
            id=e.id, at=e.at, actor=e.actor, actor_name=e.actor_name, action=e.action, target=e.target, detail=e.detail
        )
        for e in found
    ]
    return AuditLog(data=data, count=len(data), next_before=data[-1].id if len(data) == limit else None)
