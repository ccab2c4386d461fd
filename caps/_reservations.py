"""Strict-mode reservations: a call is admitted only if its worst-case cost still fits every
hard-block cap it falls under, counting what is already spent, settled and held.

The ledger lives in the control store, so strict mode holds across API processes: admission reads
what is held and settled, decides and holds in one transaction with the workspace locked
(``ControlStore.ledger``). What is spent on a subject is the larger of the stored spend and what the
ledger has settled on it this period: a settled call's span may not be stored yet, and the stored
spend may hold calls made without strict mode. A call settles as the larger of what was settled
and what was spent when it was admitted (its span cannot be in a spend read before it was
admitted), plus its cost; so the settled amount is a lower bound of the period's spend that only
grows while calls settle, and once the stored spend has caught up with it (and no open reservation
holds it) it is forgotten. A reservation never settled (the process died) expires after ``ttl_s``.

Per workspace, at most ``max_open`` reservations are open and ``max_settled`` settled amounts are
kept (more would mean the spans of strict-mode calls are not reaching storage); beyond either, a
reservation is refused with ``TooManyReservations``. The caps and their stored spend are read at
most every ``spend_ttl_s`` per process, outside the transaction.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from llmobserve.control import ControlStore, Hold, LedgerTx, OpenReservation
from llmobserve.storage import Store

from ._status import CapStatus, Labels, applies_to, blocking, evaluate, utcnow

__all__ = ["Blocked", "Reservation", "Reservations", "TooManyReservations"]

_PRUNE_FROM = 1_024  # settled amounts kept before the first look for ones to forget


@dataclass(frozen=True, slots=True)
class Reservation:
    id: str
    amount: Decimal
    holds: tuple[Hold, ...]
    expires_at: datetime


class Blocked(Exception):
    """Admitting the call could overrun these caps: (status, subject, spend counted)."""

    def __init__(self, caps: tuple[tuple[CapStatus, str, Decimal], ...]) -> None:
        super().__init__(f"{len(caps)} spending cap(s) would be overrun")
        self.caps = caps


class TooManyReservations(Exception):
    pass


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
        prune_from: int = _PRUNE_FROM,
    ) -> None:
        """``prune_from``: settled amounts kept before the first look for ones to forget; then each
        look waits until there are twice as many as it kept."""
        self.store = store
        self.control = control
        self.clock = clock
        self.ttl_s = ttl_s
        self.max_open = max_open
        self.max_settled = max_settled
        self.spend_ttl_s = spend_ttl_s
        self.prune_from = prune_from
        self._statuses_of: dict[str, tuple[float, list[CapStatus]]] = {}
        self._prune_at: dict[str, int] = {}  # settled amounts kept before this process looks for ones to forget
        self._guard = threading.Lock()

    def caps_changed(self, tenant: str) -> None:
        with self._guard:
            self._statuses_of.pop(tenant, None)

    def _statuses(self, tenant: str) -> list[CapStatus]:
        with self._guard:
            cached = self._statuses_of.get(tenant)
        if cached is None or time.monotonic() - cached[0] > self.spend_ttl_s:
            caps = blocking(self.control.list_caps(tenant))
            cached = (time.monotonic(), evaluate(self.store, tenant, caps, self.clock))
            with self._guard:
                self._statuses_of[tenant] = cached
        return cached[1]

    def reserve(self, tenant: str, labels: Labels, amount: Decimal) -> Reservation | None:
        """Hold ``amount`` against every hard-block cap the call falls under; None when it falls under
        none. Raises ``Blocked`` when holding it could overrun one, ``TooManyReservations`` when the
        workspace's ledger is full."""
        statuses = self._statuses(tenant)
        under = [(status, subject) for status in statuses if (subject := applies_to(status.cap, labels)) is not None]
        if not under:
            return None
        holds = [(status.cap.cap_id, subject, status.period_start) for status, subject in under]

        def admit(tx: LedgerTx) -> Reservation:
            now = self.clock()
            tx.expire(now)
            settled, held = tx.settled(holds), tx.held(holds)
            bases, blocked, caught_up = [], [], []
            for (status, subject), hold in zip(under, holds, strict=True):
                stored = status.subjects().get(subject, Decimal(0))
                if hold in settled and settled[hold] <= stored and hold not in held:
                    caught_up.append(hold)  # the stored spend counts those calls now
                spent = max(stored, settled.get(hold, Decimal(0)))
                if spent + held.get(hold, Decimal(0)) + amount > status.cap.limit_usd:
                    blocked.append((status, subject, spent + held.get(hold, Decimal(0))))
                bases.append(spent)
            if blocked:
                raise Blocked(tuple(blocked))
            tx.forget_settled(caught_up)
            opened, _ = tx.open_count()
            if opened >= self.max_open:
                raise TooManyReservations(f"{opened} reservations are open; settle or release some")
            kept = tx.settled_count()
            if kept >= min(self.max_settled, self._prune_at.get(tenant, self.prune_from)):
                self._prune(tx, statuses)
                kept = tx.settled_count()
                self._prune_at[tenant] = max(self.prune_from, 2 * kept)  # amortized: each prune reads them all
                if kept >= self.max_settled:
                    raise TooManyReservations(
                        f"{self.max_settled} settled amounts are waiting for their calls' spans to be stored; "
                        "are the spans of strict-mode calls exported to this server?"
                    )
            expires = now + timedelta(seconds=self.ttl_s)
            reservation = OpenReservation(
                "res_" + secrets.token_hex(8),
                amount,
                tuple(holds),
                tuple(bases),
                labels.get("provider", ""),
                labels.get("model", ""),
                expires,
            )
            tx.add(reservation)
            return Reservation(reservation.id, amount, reservation.holds, expires)

        return self.control.ledger(tenant, admit)

    def settle(self, tenant: str, reservation_id: str, price: Callable[[str, str], Decimal]) -> Decimal | None:
        """The call is done: it stops holding its maximum and its cost, ``price(provider, model)``,
        counts as spent. None when no such reservation is open."""

        def close(tx: LedgerTx) -> Decimal | None:
            found = tx.close(reservation_id)
            if found is None or found.expires_at < self.clock():
                return None
            cost = price(found.provider, found.model)
            settled = tx.settled(list(found.holds))
            tx.put_settled(
                {
                    hold: max(settled.get(hold, Decimal(0)), base) + cost
                    for hold, base in zip(found.holds, found.bases, strict=True)
                }
            )
            return cost

        return self.control.ledger(tenant, close)

    def release(self, tenant: str, reservation_id: str) -> bool:
        return self.control.ledger(tenant, lambda tx: tx.close(reservation_id) is not None)

    def open_reservations(self, tenant: str) -> tuple[int, Decimal]:
        def count(tx: LedgerTx) -> tuple[int, Decimal]:
            tx.expire(self.clock())
            return tx.open_count()

        return self.control.ledger(tenant, count)

    @staticmethod
    def _prune(tx: LedgerTx, statuses: list[CapStatus]) -> None:
        """Forget the settled amounts that can no longer count: of a period that is over or a cap
        that no longer blocks, or that the stored spend has caught up with. One that an open
        reservation holds is kept: it will settle on top of it."""
        current = {status.cap.cap_id: status for status in statuses}
        held = tx.held_holds()
        stale = []
        for hold, settled in tx.all_settled().items():
            if hold in held:
                continue
            status = current.get(hold[0])
            if (
                status is None
                or status.period_start != hold[2]
                or settled <= status.subjects().get(hold[1], Decimal(0))
            ):
                stale.append(hold)
        tx.forget_settled(stale)
