"""``People``: users, sign-ins, memberships, invitations, links and the audit log, each method one
transaction of the control store (the facade ``ControlStore.people`` hands out)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection

from . import _audit, _invitations, _links, _users
from ._keys import ensure_workspace
from ._links import Flow, Link
from ._records import AuditEntry, Invitation, Member, User, role_rank

if TYPE_CHECKING:
    from ._store import ControlStore

__all__ = ["FIRST_OWNER", "INVITATION_PROBLEMS", "People", "SignIn", "SignInRefused"]

_T = TypeVar("_T")
FIRST_OWNER = "first start"
"""``invited_by`` of the invitation ``serve`` prints while nobody has an account."""
SIGNUP_POLICIES = ("open", "invite", "off")


class SignInRefused(Exception):
    """A sign-in that may not create an account or join a workspace; ``str()`` says why, to the person."""


@dataclass(frozen=True, slots=True)
class SignIn:
    user_id: str
    workspace: str | None  # where the session starts: the one just joined or made, else their first
    created: bool  # a new user
    invited: bool = False  # joined a workspace by invitation (else open sign-up made them one)


class People:
    def __init__(self, store: ControlStore) -> None:
        self._store = store

    def _read(self, work: Callable[[Connection], _T]) -> _T:
        with self._store._read() as conn:  # noqa: SLF001 - one facade split in two files
            return work(conn)

    def _do(self, work: Callable[[Connection], _T]) -> _T:
        return self._store._do(work)  # noqa: SLF001

    def _first_win(self, work: Callable[[Connection], _T]) -> _T:
        """``work``, once more if a racing transaction created the same person first (``Taken``):
        the retry finds theirs."""
        try:
            return self._do(work)
        except _users.Taken:
            return self._do(work)

    # signing in
    def sign_in_oidc(
        self,
        issuer: str,
        subject: str,
        provider: str,
        email: str | None,
        name: str,
        signup: str,
        invitation: str | None = None,
    ) -> SignIn:
        """The user (issuer, subject) names, made on first sign-in if the policy lets them in."""

        def work(conn: Connection) -> SignIn:
            user_id = _users.identity_user(conn, issuer, subject)
            created = user_id is None
            if user_id is None:
                _may_join(conn, signup, invitation)
                user_id = _users.create_user(conn, name or email or subject, email)
                _users.add_identity(conn, issuer, subject, user_id, provider, email)
            workspace = _settle(conn, user_id, created, invitation, name or email or "My", signup)
            return SignIn(user_id, workspace, created, invitation is not None)

        return self._first_win(work)

    def sign_up_local(
        self, email: str, password_hash: str, name: str, signup: str, invitation: str | None = None
    ) -> SignIn:
        """A local account for a verified address (its verification link was just used)."""

        def work(conn: Connection) -> SignIn:
            found = _users.user_by_login(conn, email)
            if found is not None:
                user_id = found[0].id
                return SignIn(user_id, _settle(conn, user_id, False, invitation, name, signup), False)
            _may_join(conn, signup, invitation)
            user_id = _users.create_user(conn, name or email, email, email.lower(), password_hash)
            workspace = _settle(conn, user_id, True, invitation, name or email, signup)
            return SignIn(user_id, workspace, True, invitation is not None)

        return self._first_win(work)

    def local_account(self, email: str) -> tuple[User, str | None] | None:
        return self._read(lambda c: _users.user_by_login(c, email))

    def join(self, user_id: str, invitation: str) -> str:
        """Accept an invitation as a signed-in user: the workspace joined."""

        def work(conn: Connection) -> str:
            joined = _settle(conn, user_id, False, invitation, "", "off")
            assert joined is not None
            return joined

        return self._do(work)

    # users
    def user(self, user_id: str) -> User | None:
        return self._read(lambda c: _users.user(c, user_id))

    def user_count(self) -> int:
        return self._read(_users.user_count)

    def identities(self, user_id: str) -> list[tuple[str, str | None]]:
        return self._read(lambda c: _users.identities(c, user_id))

    def set_name(self, user_id: str, name: str) -> None:
        self._do(lambda c: _users.set_name(c, user_id, name))

    def set_password(self, user_id: str, password_hash: str, end_sessions: bool = True) -> None:
        def work(conn: Connection) -> None:
            _users.set_password(conn, user_id, password_hash)
            if end_sessions:
                _users.delete_user_sessions(conn, user_id)

        self._do(work)

    def end_sessions(self, user_id: str) -> None:
        self._do(lambda c: _users.delete_user_sessions(c, user_id))

    # workspaces and members
    def workspaces_of(self, user_id: str) -> list[tuple[str, str, str]]:
        return self._read(lambda c: _users.workspaces_of(c, user_id))

    def role(self, workspace: str, user_id: str) -> str | None:
        return self._read(lambda c: _users.membership(c, workspace, user_id))

    def members(self, workspace: str) -> list[Member]:
        return self._read(lambda c: _users.members(c, workspace))

    def all_members(self) -> list[Member]:
        return self._read(lambda c: _users.members(c, None))

    def workspace_name(self, workspace: str) -> str | None:
        return self._read(lambda c: _users.workspace_name(c, workspace))

    def rename_workspace(self, workspace: str, name: str, actor: tuple[str, str]) -> None:
        def work(conn: Connection) -> None:
            _users.rename_workspace(conn, workspace, name)
            _audit.record(conn, workspace, *actor, "workspace.rename", workspace, {"name": name})

        self._do(work)

    def set_role(self, workspace: str, user_id: str, role: str, actor: tuple[str, str]) -> None:
        """Change a member's role; the last owner stays an owner. Raises ValueError with the reason."""

        def work(conn: Connection) -> None:
            before = _users.membership(conn, workspace, user_id)
            if before is None:
                raise LookupError("no such member")
            if before == "owner" and role != "owner" and _users.owners(conn, workspace) <= 1:
                raise ValueError("the workspace's last owner cannot be demoted: make another member owner first")
            _users.set_role(conn, workspace, user_id, role)
            _audit.record(conn, workspace, *actor, "member.role", user_id, {"from": before, "to": role})

        self._do(work)

    def remove_member(self, workspace: str, user_id: str, actor: tuple[str, str]) -> None:
        def work(conn: Connection) -> None:
            before = _users.membership(conn, workspace, user_id)
            if before is None:
                raise LookupError("no such member")
            if before == "owner" and _users.owners(conn, workspace) <= 1:
                raise ValueError("the workspace's last owner cannot be removed")
            _users.remove_member(conn, workspace, user_id)
            _audit.record(conn, workspace, *actor, "member.remove", user_id, {"role": before})

        self._do(work)

    # invitations
    def invite(
        self, workspace: str, email: str, role: str, actor: tuple[str, str], ttl: timedelta = timedelta(days=7)
    ) -> tuple[Invitation, str]:
        def work(conn: Connection) -> tuple[Invitation, str]:
            ensure_workspace(conn, workspace)
            made = _invitations.create_invitation(conn, workspace, email, role, actor[1], ttl)
            _audit.record(conn, workspace, *actor, "invitation.create", made[0].id, {"email": email, "role": role})
            return made

        return self._do(work)

    def first_owner_invitation(self, workspace: str, ttl: timedelta = timedelta(hours=24)) -> str:
        """A new link that makes its user the workspace's owner; earlier ones stop working."""

        def work(conn: Connection) -> str:
            ensure_workspace(conn, workspace)
            for old in _invitations.list_invitations(conn, workspace):
                if old.invited_by == FIRST_OWNER and old.status() == "pending":
                    _invitations.revoke_invitation(conn, workspace, old.id)
            return _invitations.create_invitation(conn, workspace, "", "owner", FIRST_OWNER, ttl)[1]

        return self._do(work)

    def invitation(self, token: str) -> Invitation | None:
        return self._read(lambda c: _invitations.invitation_by_token(c, token))

    def invitations(self, workspace: str) -> list[Invitation]:
        return self._read(lambda c: _invitations.list_invitations(c, workspace))

    def revoke_invitation(self, workspace: str, invitation_id: str, actor: tuple[str, str]) -> bool:
        def work(conn: Connection) -> bool:
            done = _invitations.revoke_invitation(conn, workspace, invitation_id)
            if done:
                _audit.record(conn, workspace, *actor, "invitation.revoke", invitation_id, {})
            return done

        return self._do(work)

    # single-use links and sign-in flows
    def create_link(self, purpose: str, ttl: timedelta, **fields: Any) -> str:
        return self._do(lambda c: _links.create_link(c, purpose, ttl, **fields))

    def peek_link(self, token: str, purpose: str) -> tuple[Link | None, str]:
        return self._read(lambda c: _links.peek_link(c, token, purpose))

    def use_link(self, token: str, purpose: str) -> tuple[Link | None, str]:
        return self._do(lambda c: _links.use_link(c, token, purpose))

    def links_sent_since(self, purpose: str, email: str, since: datetime) -> int:
        return self._read(lambda c: _links.links_sent_since(c, purpose, email, since))

    def start_flow(self, state: str, browser: str, flow: Flow, ttl: timedelta = timedelta(minutes=10)) -> None:
        self._do(lambda c: _links.start_flow(c, state, browser, flow, ttl))

    def take_flow(self, state: str, browser: str) -> Flow | None:
        return self._do(lambda c: _links.take_flow(c, state, browser))

    # the audit log
    def audit(self, workspace: str, actor: tuple[str, str], action: str, target: str, **detail: Any) -> None:
        self._do(lambda c: _audit.record(c, workspace, *actor, action, target, detail))

    def audit_entries(self, workspace: str, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
        return self._read(lambda c: _audit.audit_entries(c, workspace, limit, before_id))


def _may_join(conn: Connection, signup: str, invitation: str | None) -> None:
    """Whether a new person may get an account now: open sign-up, or an invitation that is usable."""
    if invitation is not None:
        found = _invitations.invitation_by_token(conn, invitation)
        why = "unknown" if found is None else found.status()
        if why != "pending":
            raise SignInRefused(INVITATION_PROBLEMS[why])
        return
    if signup != "open":
        raise SignInRefused(
            "This server does not take new sign-ups. Ask a workspace owner for an invitation."
            if signup == "invite"
            else "Sign-up is turned off on this server."
        )


INVITATION_PROBLEMS = {  # why an invitation is refused, to the person holding it
    "unknown": "This invitation link is not valid. Ask the workspace's owner for a new one.",
    "used": "This invitation was already used. Sign in, or ask for a new one.",
    "revoked": "This invitation was withdrawn. Ask the workspace's owner for a new one.",
    "expired": "This invitation has expired. Ask the workspace's owner for a new one.",
}


def _settle(
    conn: Connection, user_id: str, created: bool, invitation: str | None, name: str, signup: str
) -> str | None:
    """After a sign-in: join the invited workspace, or give a new user of open sign-up a workspace of
    their own as its owner. Returns the workspace the session starts in."""
    if invitation is not None:
        found, why = _invitations.accept_invitation(conn, invitation, user_id)
        if found is None:
            raise SignInRefused(INVITATION_PROBLEMS[why])
        before = _users.membership(conn, found.workspace, user_id)
        if before is None:
            _users.add_member(conn, found.workspace, user_id, found.role)
        elif role_rank(found.role) > role_rank(before):
            _users.set_role(conn, found.workspace, user_id, found.role)
        _audit.record(conn, found.workspace, f"user:{user_id}", name, "member.join", user_id, {"role": found.role})
        return found.workspace
    if created and signup == "open":
        workspace = _users.create_workspace(conn, f"{name}'s workspace", name.split("@")[0])
        _users.add_member(conn, workspace, user_id, "owner")
        return workspace
    joined = _users.workspaces_of(conn, user_id)
    return joined[0][0] if joined else None
