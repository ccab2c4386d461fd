"""Users, their sign-ins and their roles in workspaces.

A person is found by (issuer, subject) for an OpenID Connect sign-in and by a verified address for a
local account, never by an address an identity provider merely asserts. The first sign-in of one
person, however many requests race for it, creates one user: the identity's primary key (or the
address's unique index) decides, and the loser's transaction raises ``Taken``, is rolled back whole
(its user and workspace with it) and reads the winner's row.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from ._convert import utc
from ._people_schema import IDENTITIES, MEMBERSHIPS, USERS
from ._records import ROLES, Member, User, validate_tenant
from ._schema import SESSIONS, WORKSPACES
from ._upsert import insert_new

__all__ = [
    "Taken",
    "add_identity",
    "add_member",
    "create_user",
    "create_workspace",
    "delete_user_sessions",
    "identities",
    "identity_user",
    "members",
    "membership",
    "owners",
    "remove_member",
    "rename_workspace",
    "set_name",
    "set_password",
    "set_role",
    "user",
    "user_by_login",
    "user_count",
    "workspace_name",
    "workspaces_of",
]


class Taken(Exception):
    """Another transaction created this person first: roll back and read theirs."""


def _user(row: Any) -> User:
    return User(row.id, row.name, row.email, row.login_email, row.password_hash is not None, utc(row.created_at))


def create_user(
    conn: Connection, name: str, email: str | None, login_email: str | None = None, password_hash: str | None = None
) -> str:
    """A new user's id. With ``login_email`` (lower-cased, verified), raises ``Taken`` when the address
    already signs in another user."""
    user_id = "usr_" + secrets.token_hex(8)
    row = {
        "id": user_id,
        "name": name[:200],
        "email": email,
        "login_email": login_email,
        "password_hash": password_hash,
        "created_at": datetime.now(UTC),
    }
    if login_email is None:
        conn.execute(insert(USERS).values(row))
    elif not insert_new(conn, USERS, [row], returning="id"):
        raise Taken(login_email)
    return user_id


def add_identity(conn: Connection, issuer: str, subject: str, user_id: str, provider: str, email: str | None) -> None:
    now = datetime.now(UTC)
    row = {
        "issuer": issuer,
        "subject": subject,
        "user_id": user_id,
        "provider": provider,
        "email": email,
        "created_at": now,
        "seen_at": now,
    }
    if not insert_new(conn, IDENTITIES, [row], returning="user_id"):
        raise Taken(f"{issuer} {subject}")


def identity_user(conn: Connection, issuer: str, subject: str) -> str | None:
    return conn.execute(
        select(IDENTITIES.c.user_id).where(IDENTITIES.c.issuer == issuer, IDENTITIES.c.subject == subject)
    ).scalar_one_or_none()


def identities(conn: Connection, user_id: str) -> list[tuple[str, str | None]]:
    """(provider, e-mail it gave) of each sign-in the user linked."""
    rows = conn.execute(select(IDENTITIES.c.provider, IDENTITIES.c.email).where(IDENTITIES.c.user_id == user_id)).all()
    return [(r.provider, r.email) for r in rows]


def user(conn: Connection, user_id: str) -> User | None:
    row = conn.execute(select(USERS).where(USERS.c.id == user_id)).first()
    return None if row is None else _user(row)


def user_by_login(conn: Connection, login_email: str) -> tuple[User, str | None] | None:
    """The local account signing in with this address, and its password hash."""
    row = conn.execute(select(USERS).where(USERS.c.login_email == login_email.lower())).first()
    return None if row is None else (_user(row), row.password_hash)


def set_password(conn: Connection, user_id: str, password_hash: str) -> None:
    conn.execute(update(USERS).where(USERS.c.id == user_id).values(password_hash=password_hash))


def set_name(conn: Connection, user_id: str, name: str) -> None:
    conn.execute(update(USERS).where(USERS.c.id == user_id).values(name=name[:200]))


def user_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(USERS)).scalar_one())


_SLUG = re.compile(r"[^a-z0-9]+")


def create_workspace(conn: Connection, name: str, hint: str) -> str:
    """A new workspace named ``name``; its id is ``hint`` made safe, and a random suffix."""
    slug = _SLUG.sub("-", hint.lower()).strip("-")[:40] or "workspace"
    workspace = validate_tenant(f"{slug}-{secrets.token_hex(3)}")
    conn.execute(insert(WORKSPACES).values(id=workspace, name=name[:200], created_at=datetime.now(UTC)))
    return workspace


def workspace_name(conn: Connection, workspace: str) -> str | None:
    row = conn.execute(select(WORKSPACES.c.id, WORKSPACES.c.name).where(WORKSPACES.c.id == workspace)).first()
    return None if row is None else (row.name or row.id)


def rename_workspace(conn: Connection, workspace: str, name: str) -> None:
    conn.execute(update(WORKSPACES).where(WORKSPACES.c.id == workspace).values(name=name[:200]))


def add_member(conn: Connection, workspace: str, user_id: str, role: str) -> bool:
    """Make the user a member (False: already one; the role is left as it was)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    row = {"workspace": workspace, "user_id": user_id, "role": role, "created_at": datetime.now(UTC)}
    return bool(insert_new(conn, MEMBERSHIPS, [row], returning="role"))


def membership(conn: Connection, workspace: str, user_id: str) -> str | None:
    """The user's role in the workspace, or None."""
    return conn.execute(
        select(MEMBERSHIPS.c.role).where(MEMBERSHIPS.c.workspace == workspace, MEMBERSHIPS.c.user_id == user_id)
    ).scalar_one_or_none()


def members(conn: Connection, workspace: str | None) -> list[Member]:
    """The workspace's members (every workspace's, for None), oldest first."""
    query = select(MEMBERSHIPS, USERS.c.name, USERS.c.email).join(USERS, USERS.c.id == MEMBERSHIPS.c.user_id)
    if workspace is not None:
        query = query.where(MEMBERSHIPS.c.workspace == workspace)
    rows = conn.execute(query.order_by(MEMBERSHIPS.c.workspace, MEMBERSHIPS.c.created_at)).all()
    return [Member(r.workspace, r.user_id, r.name, r.email, r.role, utc(r.created_at)) for r in rows]


def workspaces_of(conn: Connection, user_id: str) -> list[tuple[str, str, str]]:
    """(workspace, its name, the user's role) for each workspace the user belongs to."""
    rows = conn.execute(
        select(MEMBERSHIPS.c.workspace, MEMBERSHIPS.c.role, WORKSPACES.c.name)
        .join(WORKSPACES, WORKSPACES.c.id == MEMBERSHIPS.c.workspace)
        .where(MEMBERSHIPS.c.user_id == user_id)
        .order_by(MEMBERSHIPS.c.created_at)
    ).all()
    return [(r.workspace, r.name or r.workspace, r.role) for r in rows]


def owners(conn: Connection, workspace: str) -> int:
    return int(
        conn.execute(
            select(func.count()).where(MEMBERSHIPS.c.workspace == workspace, MEMBERSHIPS.c.role == "owner")
        ).scalar_one()
    )


def set_role(conn: Connection, workspace: str, user_id: str, role: str) -> None:
    conn.execute(
        update(MEMBERSHIPS)
        .where(MEMBERSHIPS.c.workspace == workspace, MEMBERSHIPS.c.user_id == user_id)
        .values(role=role)
    )


def remove_member(conn: Connection, workspace: str, user_id: str) -> None:
    """The membership and the user's sessions in this workspace go in one transaction."""
    conn.execute(delete(MEMBERSHIPS).where(MEMBERSHIPS.c.workspace == workspace, MEMBERSHIPS.c.user_id == user_id))
    conn.execute(delete(SESSIONS).where(SESSIONS.c.workspace == workspace, SESSIONS.c.user_id == user_id))


def delete_user_sessions(conn: Connection, user_id: str) -> None:
    conn.execute(delete(SESSIONS).where(SESSIONS.c.user_id == user_id))
