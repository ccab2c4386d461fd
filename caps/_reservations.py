"""Strict-mode reservations: a call is admitted only if its worst-case cost still fits every
hard-block cap it falls under, counting what is already spent, settled and held.

Admission is atomic per tenant (one lock around read-decide-hold). What is spent is the larger of
the stored spend and the costs settled here this period: a settled call's span may not be stored
yet, and the stored spend may hold calls made without strict mode. A reservation never settled
(the process died) expires after ``ttl_s`` and stops holding anything. The ledger lives in the
one process that runs the cap monitor, so every reservation of a store must reach that process.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from llmobserve.storage import Store

from ._status import CapStatus, Labels, applies_to, blocking, evaluate, utcnow

__all__ = ["Blocked", "Reservation", "Reservations", "TooManyReservations"]

_Hold = tuple[str, str, datetime]  # (cap id, subject, period start)


@dataclass(frozen=True, slots=True)
class Reservation:
    id: str
    amount: Decimal
    holds: tuple[_Hold, ...]
    expires_at: datetime
    deadline: float  # monotonic
    provider: str = ""
    model: str = ""


class Blocked(Exception):
    """Admitting the call could overrun these caps: (status, subject, spend counted)."""

    def __init__(self, caps: tuple[tuple[CapStatus, str, Decimal], ...]) -> None:
        super().__init__(f"{len(caps)} spending cap(s) would be overrun")
        self.caps = caps


class TooManyReservations(Exception):
    pass


class _Ledger:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: dict[str, Reservation] = {}
        self.settled: dict[_Hold, Decimal] = {}
        self.statuses: tuple[float, list[CapStatus]] | None = None


class Reservations:
    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] = utcnow,
        ttl_s: float = 600.0,
        max_open: int = 10_000,
        spend_ttl_s: float = 1.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ttl_s = ttl_s
        self.max_open = max_open
        self.spend_ttl_s = spend_ttl_s
        self._ledgers: dict[str, _Ledger] = {}
        self._guard = threading.Lock()

    def _ledger(self, tenant: str) -> _Ledger:
        with self._guard:
            return self._ledgers.setdefault(tenant, _Ledger())

    def caps_changed(self, tenant: str) -> None:
        self._ledger(tenant).statuses = None

    def _statuses(self, tenant: str, ledger: _Ledger) -> list[CapStatus]:
        cached = ledger.statuses
        if cached is None or time.monotonic() - cached[0] > self.spend_ttl_s:
            caps = blocking(self.store.list_caps(tenant))
            cached = ledger.statuses = (time.monotonic(), evaluate(self.store, tenant, caps, self.clock))
        return cached[1]

    def reserve(self, tenant: str, labels: Labels, amount: Decimal) -> Reservation | None:
        """Hold ``amount`` against every hard-block cap the call falls under; None when it falls under
        none. Raises ``Blocked`` when holding it could overrun one."""
        ledger = self._ledger(tenant)
        with ledger.lock:
            self._expire(ledger)
            holds, blocked = [], []
            for status in self._statuses(tenant, ledger):
                subject = applies_to(status.cap, labels)
                if subject is None:
                    continue
                hold = (status.cap.cap_id, subject, status.period_start)
                spent = max(status.subjects().get(subject, Decimal(0)), ledger.settled.get(hold, Decimal(0)))
                held = sum((r.amount for r in ledger.open.values() if hold in r.holds), Decimal(0))
                if spent + held + amount > status.cap.limit_usd:
                    blocked.append((status, subject, spent + held))
                holds.append(hold)
            if blocked:
                raise Blocked(tuple(blocked))
            if not holds:
                return None
            if len(ledger.open) >= self.max_open:
                raise TooManyReservations(f"{len(ledger.open)} reservations are open; settle or release some")
            reservation = Reservation(
                "res_" + secrets.token_hex(8),
                amount,
                tuple(holds),
                self.clock() + timedelta(seconds=self.ttl_s),
                time.monotonic() + self.ttl_s,
                labels.get("provider", ""),
                labels.get("model", ""),
            )
            ledger.open[reservation.id] = reservation
            return reservation

    def settle(self, tenant: str, reservation_id: str, price: Callable[[str, str], Decimal]) -> Decimal | None:
        """The call is done: it stops holding its maximum and its cost, ``price(provider, model)``,
        counts as spent. None when no such reservation is open."""
        ledger = self._ledger(tenant)
        with ledger.lock:
            reservation = ledger.open.pop(reservation_id, None)
            if reservation is None or reservation.deadline < time.monotonic():
                return None
            cost = price(reservation.provider, reservation.model)
            for hold in reservation.holds:
                ledger.settled[hold] = ledger.settled.get(hold, Decimal(0)) + cost
            return cost

    def release(self, tenant: str, reservation_id: str) -> bool:
        ledger = self._ledger(tenant)
        with ledger.lock:
            return ledger.open.pop(reservation_id, None) is not None

    def open_reservations(self, tenant: str) -> tuple[int, Decimal]:
        ledger = self._ledger(tenant)
        with ledger.lock:
            self._expire(ledger)
            return len(ledger.open), sum((r.amount for r in ledger.open.values()), Decimal(0))

    def _expire(self, ledger: _Ledger) -> None:
        now = time.monotonic()
        for rid in [rid for rid, r in ledger.open.items() if r.deadline < now]:
            del ledger.open[rid]
        # Settled sums of periods long over hold nothing any more.
        oldest = self.clock() - timedelta(days=40)
        if len(ledger.settled) > 1000:
            for hold in [h for h in ledger.settled if h[2] < oldest and h[2].year > 1970]:
                del ledger.settled[hold]
