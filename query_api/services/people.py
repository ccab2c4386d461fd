"""People in a workspace: who may sign in and how (``Accounts``), members, roles, invitations and
the audit log, shared by the API's routes and the dashboard's pages.

Who may do what: a viewer reads; a member also makes ingest keys; an admin also manages caps, keys,
prices and settings, and invites people (never to a role above their own); an owner also changes
roles, removes members and manages billing. The last owner cannot be demoted or removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape
from typing import TYPE_CHECKING, Any

from llmobserve.control import ROLES, AuditEntry, ControlStore, Invitation, Member, Principal, role_rank

from .errors import BadRequest, Conflict, NotFound, ServiceError
from .oidc import OidcClient
from .sessions import SignInLimiter

if TYPE_CHECKING:
    from ._services import Services

__all__ = [
    "Accounts",
    "Forbidden",
    "actor",
    "audit_log",
    "change_role",
    "invite",
    "list_invitations",
    "list_members",
    "record",
    "remove_member",
    "revoke_invitation",
    "send_invitation",
]

INVITATION_TTL = timedelta(days=7)


class Forbidden(ServiceError):
    """The signed-in person's role does not allow this."""

    status = 403


@dataclass(frozen=True, slots=True)
class Accounts:
    """How people sign in to this server."""

    signup: str = "invite"  # open | invite | off
    key_signin: bool | None = None  # None: on while no person has an account
    oidc: Mapping[str, OidcClient] = field(default_factory=dict)
    passwords: SignInLimiter = field(
        default_factory=lambda: SignInLimiter(failures_per_address=10, attempts_per_key=10)
    )
    """Password sign-ins: failures per client address, attempts per account, per minute."""

    def key_signin_on(self, control: ControlStore) -> bool:
        return self.key_signin if self.key_signin is not None else control.people.user_count() == 0


def actor(principal: Principal) -> tuple[str, str]:
    """(who, their name) for the audit log."""
    return principal.actor, principal.name or principal.actor


def record(control: ControlStore, tenant: str, by: Principal | None, action: str, target: str, **detail: Any) -> None:
    """An audit entry for a change ``by`` made (none: an internal change, not recorded)."""
    if by is not None:
        control.people.audit(tenant, actor(by), action, target, **detail)


def list_members(control: ControlStore, tenant: str) -> list[Member]:
    return control.people.members(tenant)


def invite(control: ControlStore, principal: Principal, email: str, role: str) -> tuple[Invitation, str]:
    if not principal.allows("admin"):
        raise Forbidden("only an admin or an owner may invite people")
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}")
    if principal.role is not None and role_rank(role) > role_rank(principal.role):
        raise Forbidden(f"you are {principal.role} here: you cannot invite someone as {role}")
    if "@" not in email.strip().strip("@") or len(email) > 320:
        raise BadRequest(f"{email!r} is not an e-mail address")
    return control.people.invite(principal.tenant, email.strip(), role, actor(principal), INVITATION_TTL)


def send_invitation(svc: Services, by: Principal, made: Invitation, token: str) -> tuple[str, bool]:
    """E-mail the invitation when this server sends e-mail: (its link, whether it was e-mailed).
    The link is also for the inviter to hand over when there is no e-mail."""
    link = f"{svc.public_url.rstrip('/')}/invite/{token}"
    if not made.email or not svc.notifier.email_enabled:
        return link, False
    who, where = by.name or "An admin", made.workspace
    sent = svc.notifier.email(
        [made.email],
        f"You are invited to {where} on llmobserve",
        f"{who} invited you to {where} as {made.role}. Open within 7 days:\n\n{link}",
        f"<p>{escape(who)} invited you to <strong>{escape(where)}</strong> as {escape(made.role)}. "
        f'Open within 7 days:</p><p><a href="{escape(link)}">{escape(link)}</a></p>',
    )
    return link, sent.ok


def list_invitations(control: ControlStore, tenant: str) -> list[Invitation]:
    return control.people.invitations(tenant)


def revoke_invitation(control: ControlStore, principal: Principal, invitation_id: str) -> None:
    if not control.people.revoke_invitation(principal.tenant, invitation_id, actor(principal)):
        raise NotFound(f"no pending invitation {invitation_id!r}")


def change_role(control: ControlStore, principal: Principal, user_id: str, role: str) -> None:
    _owner(principal)
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}")
    try:
        control.people.set_role(principal.tenant, user_id, role, actor(principal))
    except LookupError:
        raise NotFound(f"no member {user_id!r}") from None
    except ValueError as exc:
        raise Conflict(str(exc)) from None


def remove_member(control: ControlStore, principal: Principal, user_id: str) -> None:
    _owner(principal)
    try:
        control.people.remove_member(principal.tenant, user_id, actor(principal))
    except LookupError:
        raise NotFound(f"no member {user_id!r}") from None
    except ValueError as exc:
        raise Conflict(str(exc)) from None


def audit_log(control: ControlStore, tenant: str, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
    return control.people.audit_entries(tenant, limit, before_id)


def _owner(principal: Principal) -> None:
    if not principal.allows("owner"):
        raise Forbidden("only an owner may change roles or remove members")
