"""Workspaces and API keys. A key is shown once; only its SHA-256 is stored.

Revoking a key bumps the ``keys`` counter in the same transaction: every process polls that one
row (``ControlStore.key_generation``) and drops its key cache when it grew, so a key revoked
through one process stops working in all of them within their poll interval.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, select, update

from ._convert import utc
from ._records import KEY_PREFIX, SCOPES, KeyInfo, Principal, hash_secret, validate_tenant
from ._schema import API_KEYS, COUNTERS, WORKSPACES

__all__ = [
    "bump_counter",
    "create_key",
    "ensure_workspace",
    "key_generation",
    "key_owner_by_id",
    "list_keys",
    "lookup_key",
    "revoke_key",
    "workspace_count",
]


def ensure_workspace(conn: Connection, workspace: str) -> bool:
    """Create the workspace if missing; True when it was created."""
    validate_tenant(workspace)
    if conn.execute(select(WORKSPACES.c.id).where(WORKSPACES.c.id == workspace)).first():
        return False
    conn.execute(insert(WORKSPACES).values(id=workspace, created_at=datetime.now(UTC)))
    return True


def workspace_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(WORKSPACES)).scalar_one())


def create_key(
    conn: Connection, workspace: str, scopes: tuple[str, ...], name: str, created_by: str | None = None
) -> tuple[str, str]:
    """(key, key_id) for a new key of ``workspace`` (created if missing); the key is not stored."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}")
    ensure_workspace(conn, workspace)
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(24)}"
    conn.execute(
        insert(API_KEYS).values(
            key_id=key_id,
            workspace=workspace,
            key_hash=hash_secret(key),
            scopes=sorted(set(scopes)),
            name=name,
            created_at=datetime.now(UTC),
            created_by=created_by,
        )
    )
    return key, key_id


def lookup_key(conn: Connection, key: str) -> Principal | None:
    """Whom a presented key acts for; None when unknown or revoked."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    row = conn.execute(
        select(API_KEYS.c.workspace, API_KEYS.c.scopes, API_KEYS.c.key_id).where(
            API_KEYS.c.key_hash == hash_secret(key), API_KEYS.c.revoked_at.is_(None)
        )
    ).first()
    return None if row is None else Principal(row.workspace, frozenset(row.scopes), row.key_id)


def key_owner_by_id(conn: Connection, key_id: str) -> Principal | None:
    """The live key with this id (a dashboard session re-checks its key by id, never by secret)."""
    row = conn.execute(
        select(API_KEYS.c.workspace, API_KEYS.c.scopes).where(
            API_KEYS.c.key_id == key_id, API_KEYS.c.revoked_at.is_(None)
        )
    ).first()
    return None if row is None else Principal(row.workspace, frozenset(row.scopes), key_id)


def list_keys(conn: Connection, workspace: str) -> list[KeyInfo]:
    rows = conn.execute(
        select(API_KEYS).where(API_KEYS.c.workspace == workspace).order_by(API_KEYS.c.created_at, API_KEYS.c.key_id)
    ).all()
    return [
        KeyInfo(
            r.key_id,
            f"{KEY_PREFIX}{r.key_id}_",
            tuple(r.scopes),
            r.name,
            utc(r.created_at),
            r.revoked_at is not None,
        )
        for r in rows
    ]


def revoke_key(conn: Connection, workspace: str, key_id: str) -> bool:
    """False when the workspace has no such key. Revoking twice is not an error."""
    found = conn.execute(
        select(API_KEYS.c.revoked_at).where(API_KEYS.c.workspace == workspace, API_KEYS.c.key_id == key_id)
    ).first()
    if found is None:
        return False
    if found.revoked_at is None:
        conn.execute(
            update(API_KEYS)
            .where(API_KEYS.c.workspace == workspace, API_KEYS.c.key_id == key_id)
            .values(revoked_at=datetime.now(UTC))
        )
        bump_counter(conn, "keys")
    return True


def bump_counter(conn: Connection, name: str) -> int:
    """Add one to the counter (seeded by the migration) and return its new value."""
    statement = update(COUNTERS).where(COUNTERS.c.name == name).values(value=COUNTERS.c.value + 1)
    return int(conn.execute(statement.returning(COUNTERS.c.value)).scalar_one())


def key_generation(conn: Connection) -> int:
    value = conn.execute(select(COUNTERS.c.value).where(COUNTERS.c.name == "keys")).scalar()
    return int(value or 0)
