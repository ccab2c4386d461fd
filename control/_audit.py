"""The audit log: who changed what in a workspace, and when."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from ._convert import utc
from ._people_schema import AUDIT
from ._records import AuditEntry

__all__ = ["audit_entries", "record"]


def record(
    conn: Connection, workspace: str, actor: str, actor_name: str, action: str, target: str, detail: dict[str, Any]
) -> None:
    conn.execute(
        insert(AUDIT).values(
            workspace=workspace,
            at=datetime.now(UTC),
            actor=actor[:200],
            actor_name=actor_name[:320],
            action=action,
            target=target[:512],
            detail=detail,
        )
    )


def audit_entries(conn: Connection, workspace: str, limit: int, before_id: int | None = None) -> list[AuditEntry]:
    query = select(AUDIT).where(AUDIT.c.workspace == workspace)
    if before_id is not None:
        query = query.where(AUDIT.c.id < before_id)
    rows = conn.execute(query.order_by(AUDIT.c.id.desc()).limit(limit)).all()
    return [AuditEntry(r.id, utc(r.at), r.actor, r.actor_name, r.action, r.target, dict(r.detail)) for r in rows]
