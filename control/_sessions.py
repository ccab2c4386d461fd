"""Dashboard sessions: the browser holds a random id in an HttpOnly cookie; the row holds its
SHA-256, the workspace and the id of the key that signed in (never the key), so a session survives
a restart and is valid in every process. Revoking a key deletes its sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, delete, func, insert, select, update

from ._convert import utc
from ._schema import SESSIONS

__all__ = [
    "SessionRow",
    "create_session",
    "delete_key_sessions",
    "delete_session",
    "get_session",
    "switch_workspace",
    "touch_session",
]


@dataclass(frozen=True, slots=True)
class SessionRow:
    id_hash: str
    workspace: str
    key_id: str | None  # signed in with a key, or
    user_id: str | None  # as a person (the workspace is the one they switched to)
    csrf: str
    created_at: datetime
    seen_at: datetime


def _keep_newest(conn: Connection, where: ColumnElement[bool], keep: int) -> None:
    """Delete the sessions matching ``where`` but the ``keep`` most recently used."""
    kept = conn.execute(select(SESSIONS.c.id_hash).where(where).order_by(SESSIONS.c.seen_at.desc()).limit(keep))
    conn.execute(delete(SESSIONS).where(where, SESSIONS.c.id_hash.not_in([k for (k,) in kept])))


def create_session(conn: Connection, row: SessionRow, per_key: int, per_workspace: int) -> None:
    """Store ``row``; the key's (or person's) sessions beyond ``per_key`` and the workspace's beyond
    ``per_workspace`` go, least recently used first."""
    owner = SESSIONS.c.key_id == row.key_id if row.key_id is not None else SESSIONS.c.user_id == row.user_id
    _keep_newest(conn, owner, per_key - 1)
    if conn.execute(select(func.count()).where(SESSIONS.c.workspace == row.workspace)).scalar_one() >= per_workspace:
        _keep_newest(conn, SESSIONS.c.workspace == row.workspace, per_workspace - 1)
    conn.execute(
        insert(SESSIONS).values(
            id_hash=row.id_hash,
            workspace=row.workspace,
            key_id=row.key_id,
            user_id=row.user_id,
            csrf=row.csrf,
            created_at=utc(row.created_at),
            seen_at=utc(row.seen_at),
            flash=[],
        )
    )


def get_session(conn: Connection, id_hash: str) -> SessionRow | None:
    row = conn.execute(select(SESSIONS).where(SESSIONS.c.id_hash == id_hash)).first()
    if row is None:
        return None
    return SessionRow(
        row.id_hash, row.workspace, row.key_id, row.user_id, row.csrf, utc(row.created_at), utc(row.seen_at)
    )


def switch_workspace(conn: Connection, id_hash: str, workspace: str) -> None:
    conn.execute(update(SESSIONS).where(SESSIONS.c.id_hash == id_hash).values(workspace=workspace))


def touch_session(conn: Connection, id_hash: str, seen_at: datetime) -> None:
    conn.execute(update(SESSIONS).where(SESSIONS.c.id_hash == id_hash).values(seen_at=utc(seen_at)))


def delete_session(conn: Connection, id_hash: str) -> None:
    conn.execute(delete(SESSIONS).where(SESSIONS.c.id_hash == id_hash))


def delete_key_sessions(conn: Connection, key_id: str) -> None:
    conn.execute(delete(SESSIONS).where(SESSIONS.c.key_id == key_id))
