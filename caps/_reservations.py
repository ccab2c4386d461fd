"""Strict-mode reservations: a call is admitted only if its worst-case cost still fits every
hard-block cap it falls under, counting what is already spent, settled and held.

Admission is atomic per tenant (one lock around read-decide-hold). What is spent on a subject is
the larger of the stored spend and what this ledger has settled on it this period: a settled call's
span may not be stored yet, and the stored spend may hold calls made without strict mode. A call
settles as the larger of what was settled and what was spent when it was admitted (its span
cannot be in a spend read before it was admitted), plus its cost; so the settled amount is a
lower bound of the period's spend that only grows while calls settle, and once the stored spend
has caught up with it (and no open reservation will settle on it) it is forgotten: the next call
is admitted over the stored spend, which counts it already. Amounts of a period that is over (or
of a cap that no longer blocks) are forgotten as well. A reservation never settled (the process
died) expires after ``ttl_s`` and stops holding anything.

Per tenant, at most ``max_open`` reservations are open and ``max_settled`` settled amounts are kept
(more would mean the spans of strict-mode calls are not reaching storage); beyond either, a
reservation is refused with ``TooManyReservations``. Each admission costs a look-up per cap,
however many calls are open. The ledger lives in the one process that runs the cap monitor, so
every reservation of a store must reach that process.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from llmobserve.control import ControlStore
from llmobserve.storage import Store

from ._status import CapStatus, Labels, applies_to, blocking, evaluate, utcnow

__all__ = ["Blocked", "Reservation", "Reservations", "TooManyReservations"]

_Hold = tuple[str, str, datetime]  # (cap id, subject, period start)
_PRUNE_FROM = 1_024  # settled amounts kept before the first look for ones to forget


@dataclass(frozen=True, slots=True)
class Reservation:
    id: str
    amount: Decimal
    holds: tuple[_Hold, ...]
    expires_at: datetime
    deadline: float  # monotonic
    provider: str = ""
    model: str = ""
    bases: tuple[Decimal, ...] = ()
    """What each hold's subject had spent when the call was admitted (its own cost not in it)."""


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
        # Oldest first: every reservation lives ttl_s, so the first to expire is always at the front.
        self.open: OrderedDict[str, Reservation] = OrderedDict()
        self.held: dict[_Hold, Decimal] = {}  # the open reservations' sum per hold; no zero entries
        self.reserved = Decimal(0)  # the open reservations' sum
        self.settled: dict[_Hold, Decimal] = {}
        self.statuses: tuple[float, list[CapStatus]] | None = None
        self.prune_at = _PRUNE_FROM
        self.pruned_with: list[CapStatus] | None = None  # the statuses the last prune went by


class Reservations:
    def __init__(
        self,
        store: Store,
        control: ControlStore,
        *,
        clock: Callable[[], datetime] = utcnow,
        ttl_s: float = 600.0,
        max_open: int = 10_000,
        max_settled: int = 100_000,
        spend_ttl_s: float = 1.0,
    ) -> None:
        self.store = store
        self.control = control
        self.clock = clock
        self.ttl_s = ttl_s
        self.max_open = max_open
        self.max_settled = max_settled
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
            caps = blocking(self.control.list_caps(tenant))
            cached = ledger.statuses = (time.monotonic(), evaluate(self.store, tenant, caps, self.clock))
        return cached[1]

    def reserve(self, tenant: str, labels: Labels, amount: Decimal) -> Reservation | None:
        """Hold ``amount`` against every hard-block cap the call falls under; None when it falls under
        none. Raises ``Blocked`` when holding it could overrun one, ``TooManyReservations`` when the
        tenant's ledger is full."""
        ledger = self._ledger(tenant)
        with ledger.lock:
            self._expire(ledger)
            statuses = self._statuses(tenant, ledger)
            full = len(ledger.settled) >= self.max_settled and statuses is not ledger.pruned_with
            if len(ledger.settled) >= ledger.prune_at or full:
                self._prune(ledger, statuses)
            holds, bases, blocked = [], [], []
            for status in statuses:
                subject = applies_to(status.cap, labels)
                if subject is None:
                    continue
                hold = (status.cap.cap_id, subject, status.period_start)
                spent = max(status.subjects().get(subject, Decimal(0)), ledger.settled.get(hold, Decimal(0)))
                held = ledger.held.get(hold, Decimal(0))
                if spent + held + amount > status.cap.limit_usd:
                    blocked.append((status, subject, spent + held))
                holds.append(hold)
                bases.append(spent)
            if blocked:
                raise Blocked(tuple(blocked))
            if not holds:
                return None
            if len(ledger.open) >= self.max_open:
                raise TooManyReservations(f"{len(ledger.open)} reservations are open; settle or release some")
            if len(ledger.settled) >= self.max_settled:
                raise TooManyReservations(
                    f"{len(ledger.settled)} settled amounts are waiting for their calls' spans to be stored; "
                    "are the spans of strict-mode calls exported to this server?"
                )
            reservation = Reservation(
                "res_" + secrets.token_hex(8),
                amount,
                tuple(holds),
                self.clock() + timedelta(seconds=self.ttl_s),
                time.monotonic() + self.ttl_s,
                labels.get("provider", ""),
                labels.get("model", ""),
                tuple(bases),
            )
            ledger.open[reservation.id] = reservation
            ledger.reserved += amount
            for hold in reservation.holds:
                ledger.held[hold] = ledger.held.get(hold, Decimal(0)) + amount
            return reservation

    def settle(self, tenant: str, reservation_id: str, price: Callable[[str, str], Decimal]) -> Decimal | None:
        """The call is done: it stops holding its maximum and its cost, ``price(provider, model)``,
        counts as spent. None when no such reservation is open."""
        ledger = self._ledger(tenant)
        with ledger.lock:
            reservation = self._close(ledger, reservation_id)
            if reservation is None or reservation.deadline < time.monotonic():
                return None
            cost = price(reservation.provider, reservation.model)
            for hold, base in zip(reservation.holds, reservation.bases, strict=True):
                ledger.settled[hold] = max(ledger.settled.get(hold, Decimal(0)), base) + cost
            return cost

    def release(self, tenant: str, reservation_id: str) -> bool:
        ledger = self._ledger(tenant)
        with ledger.lock:
            return self._close(ledger, reservation_id) is not None

    def open_reservations(self, tenant: str) -> tuple[int, Decimal]:
        ledger = self._ledger(tenant)
        with ledger.lock:
            self._expire(ledger)
            return len(ledger.open), ledger.reserved

    @staticmethod
    def _close(ledger: _Ledger, reservation_id: str) -> Reservation | None:
        """Take a reservation out of the open ones and out of what they hold (under ``ledger.lock``)."""
        reservation = ledger.open.pop(reservation_id, None)
        if reservation is None:
            return None
        ledger.reserved -= reservation.amount
        for hold in reservation.holds:
            left = ledger.held[hold] - reservation.amount
            if left:
                ledger.held[hold] = left
            else:
                del ledger.held[hold]
        return reservation

    def _expire(self, ledger: _Ledger) -> None:
        now = time.monotonic()
        while ledger.open:
            first = next(iter(ledger.open.values()))
            if first.deadline >= now:
                break
            self._close(ledger, first.id)

    def _prune(self, ledger: _Ledger, statuses: list[CapStatus]) -> None:
        """Forget the settled amounts that can no longer count: of a period that is over or a cap
        that no longer blocks, or that the stored spend has caught up with. One that an open
        reservation holds is kept: it will settle on top of it."""
        current = {status.cap.cap_id: status for status in statuses}
        for hold, settled in list(ledger.settled.items()):
            if hold in ledger.held:
                continue
            status = current.get(hold[0])
            if (
                status is None
                or status.period_start != hold[2]
                or settled <= status.subjects().get(hold[1], Decimal(0))
            ):
                del ledger.settled[hold]
        ledger.prune_at = max(_PRUNE_FROM, 2 * len(ledger.settled))
        ledger.pruned_with = statuses
