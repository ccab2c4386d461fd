"""The strict-mode ledger's rows: open reservations, what each holds against which cap, and the
amounts settled per (cap, subject, period). Every operation runs in the caller's write transaction
with the workspace locked (``lock_workspace``), so admission is atomic across API processes.

Held amounts are summed by the database: each hold is a row in nano-dollars rounded up (a hold may
only overstate), indexed by (workspace, cap, subject, period). Settled amounts stay exact decimal
strings (one row each, never summed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, delete, func, insert, select

from ._convert import utc
from ._schema import HOLDS, RESERVATIONS, SETTLED, WORKSPACES
from ._upsert import upsert

__all__ = ["Hold", "LedgerTx", "OpenReservation"]

Hold = tuple[str, str, datetime]
"""(cap id, subject, period start)"""
_NANO = Decimal("1e-9")


def _nanos(amount: Decimal) -> int:
    return math.ceil(amount / _NANO)


@dataclass(frozen=True, slots=True)
class OpenReservation:
    id: str
    amount: Decimal
    holds: tuple[Hold, ...]
    bases: tuple[Decimal, ...]
    provider: str
    model: str
    expires_at: datetime


class LedgerTx:
    """One workspace's ledger inside one write transaction."""

    def __init__(self, conn: Connection, workspace: str) -> None:
        self.conn = conn
        self.workspace = workspace

    def lock_workspace(self) -> None:
        """Admissions of one workspace run one at a time in every process (a row lock on
        PostgreSQL; on SQLite the transaction's BEGIN IMMEDIATE already holds the write lock)."""
        self.conn.execute(select(WORKSPACES.c.id).where(WORKSPACES.c.id == self.workspace).with_for_update())

    def expire(self, now: datetime) -> None:
        self.conn.execute(
            delete(RESERVATIONS).where(RESERVATIONS.c.workspace == self.workspace, RESERVATIONS.c.expires_at < utc(now))
        )

    def held(self, holds: Sequence[Hold]) -> dict[Hold, Decimal]:
        """What open reservations hold against each of ``holds`` (absent: nothing)."""
        if not holds:
            return {}
        wanted = {(c, s, utc(p)): (c, s, p) for c, s, p in holds}
        query = (
            select(HOLDS.c.cap_id, HOLDS.c.subject, HOLDS.c.period_start, func.sum(HOLDS.c.nanos))
            .where(
                HOLDS.c.workspace == self.workspace,
                HOLDS.c.cap_id.in_({c for c, _, _ in holds}),
                HOLDS.c.subject.in_({s for _, s, _ in holds}),
            )
            .group_by(HOLDS.c.cap_id, HOLDS.c.subject, HOLDS.c.period_start)
        )
        found: dict[Hold, Decimal] = {}
        for cap_id, subject, start, nanos in self.conn.execute(query):
            key = wanted.get((cap_id, subject, utc(start)))
            if key is not None and nanos:
                found[key] = Decimal(int(nanos)) * _NANO
        return found

    def settled(self, holds: Sequence[Hold]) -> dict[Hold, Decimal]:
        if not holds:
            return {}
        wanted = {(c, s, utc(p)): (c, s, p) for c, s, p in holds}
        query = select(SETTLED).where(
            SETTLED.c.workspace == self.workspace,
            SETTLED.c.cap_id.in_({c for c, _, _ in holds}),
            SETTLED.c.subject.in_({s for _, s, _ in holds}),
        )
        found: dict[Hold, Decimal] = {}
        for row in self.conn.execute(query):
            key = wanted.get((row.cap_id, row.subject, utc(row.period_start)))
            if key is not None:
                found[key] = Decimal(row.amount)
        return found

    def open_count(self) -> tuple[int, Decimal]:
        rows = self.conn.execute(select(RESERVATIONS.c.amount).where(RESERVATIONS.c.workspace == self.workspace))
        amounts = [Decimal(a) for (a,) in rows]
        return len(amounts), sum(amounts, Decimal(0))

    def settled_count(self) -> int:
        query = select(func.count()).select_from(SETTLED).where(SETTLED.c.workspace == self.workspace)
        return int(self.conn.execute(query).scalar_one())

    def add(self, reservation: OpenReservation) -> None:
        self.conn.execute(
            insert(RESERVATIONS).values(
                id=reservation.id,
                workspace=self.workspace,
                amount=str(reservation.amount),
                holds=[
                    [c, s, utc(p).isoformat(), str(b)]
                    for (c, s, p), b in zip(reservation.holds, reservation.bases, strict=True)
                ],
                provider=reservation.provider,
                model=reservation.model,
                expires_at=utc(reservation.expires_at),
            )
        )
        nanos = _nanos(reservation.amount)
        self.conn.execute(
            insert(HOLDS),
            [
                {"reservation_id": reservation.id, "workspace": self.workspace, "cap_id": c, "subject": s,
                 "period_start": utc(p), "nanos": nanos}
                for c, s, p in reservation.holds
            ],
        )  # fmt: skip

    def close(self, reservation_id: str) -> OpenReservation | None:
        """Take the reservation out (its holds go with it); None when it is not open."""
        row = self.conn.execute(
            select(RESERVATIONS).where(RESERVATIONS.c.workspace == self.workspace, RESERVATIONS.c.id == reservation_id)
        ).first()
        if row is None:
            return None
        self.conn.execute(delete(HOLDS).where(HOLDS.c.reservation_id == reservation_id))
        self.conn.execute(delete(RESERVATIONS).where(RESERVATIONS.c.id == reservation_id))
        holds = tuple((c, s, utc(datetime.fromisoformat(p))) for c, s, p, _ in row.holds)
        return OpenReservation(
            row.id,
            Decimal(row.amount),
            holds,
            tuple(Decimal(b) for *_, b in row.holds),
            row.provider,
            row.model,
            utc(row.expires_at),
        )

    def put_settled(self, amounts: dict[Hold, Decimal]) -> None:
        for (cap_id, subject, start), amount in amounts.items():
            values = {
                "workspace": self.workspace,
                "cap_id": cap_id,
                "subject": subject,
                "period_start": utc(start),
                "amount": str(amount),
            }
            upsert(self.conn, SETTLED, values, ["workspace", "cap_id", "subject", "period_start"])

    def forget_settled(self, holds: Iterable[Hold]) -> None:
        for cap_id, subject, start in holds:
            self.conn.execute(
                delete(SETTLED).where(
                    SETTLED.c.workspace == self.workspace,
                    SETTLED.c.cap_id == cap_id,
                    SETTLED.c.subject == subject,
                    SETTLED.c.period_start == utc(start),
                )
            )

    def all_settled(self) -> dict[Hold, Decimal]:
        rows = self.conn.execute(select(SETTLED).where(SETTLED.c.workspace == self.workspace))
        return {(r.cap_id, r.subject, utc(r.period_start)): Decimal(r.amount) for r in rows}

    def held_holds(self) -> set[Hold]:
        query = select(HOLDS.c.cap_id, HOLDS.c.subject, HOLDS.c.period_start).where(HOLDS.c.workspace == self.workspace)
        return {(c, s, utc(p)) for c, s, p in self.conn.execute(query)}
