"""Members, invitations and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "AuditEntryPublic",
    "AuditLog",
    "InvitationCreate",
    "InvitationCreated",
    "InvitationPublic",
    "Invitations",
    "MemberPublic",
    "MemberUpdate",
    "Members",
]

Role = Literal["viewer", "member", "admin", "owner"]


class MemberPublic(BaseModel):
    user_id: str
    name: str
    email: str | None
    role: Role
    joined_at: datetime


class Members(BaseModel):
    data: list[MemberPublic]
    count: int


class MemberUpdate(BaseModel):
    role: Role


class InvitationCreate(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: Role = "member"


class InvitationPublic(BaseModel):
    id: str
    email: str
    role: Role
    invited_by: str
    created_at: datetime
    expires_at: datetime
    status: Literal["pending", "used", "revoked", "expired"]


class InvitationCreated(InvitationPublic):
    url: str = Field(description="the invitation link, with its single-use token: shown this once")
    emailed: bool = Field(description="whether the link was e-mailed to the invitee (the server sends e-mail)")


class Invitations(BaseModel):
    data: list[InvitationPublic]
    count: int


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description='"user:<id>", "key:<id>" or "cli"')
    actor_name: str
    action: str
    target: str
    detail: dict[str, object]


class AuditLog(BaseModel):
    data: list[AuditEntryPublic]
    count: int
    next_before: int | None = Field(description="pass as `before` for older entries; null at the end")
