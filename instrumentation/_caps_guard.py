"""The spending-cap guard: refuse a provider call in the app's process when a ``hard_block`` cap
that applies to it is exhausted, without a network round trip on the call.

A daemon thread (``llmobserve-caps``) polls ``GET /api/v1/caps/status`` every 2 s, asking for the
customers and models this process used recently; the request hook checks the call's labels against
the last answer (``admit``). Between answers, the cost of this process's own calls (usage from the
response, priced here with the per-model rates the server sent) is added to the caps they count
against, so one process overruns a cap by at most the call that crosses it. (The first call of a
model waits for the rates it asked for: it is added when they arrive, at the latest with the next poll.)

Freshness rules, all by ``clock`` (injectable, UTC):

- an answer older than ``max_age`` (60 s: the API is unreachable) blocks nothing: fail open;
- a cap whose ``resets_at`` has passed counts from 0 (plus our own calls since) until an answer says more;
- within one period a cap's estimate is ``max(server spend, last estimate)``: our additions stay until
  the server has caught up with them; a new ``period_start`` starts from the server's number.

Money is ``Decimal`` throughout; the server's strings are parsed, never floats.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from llmobserve.semconv import agent_from_section, normalize_provider

from ._caps_api import CapsApi
from ._caps_errors import blocked
from ._caps_state import Cap, Labels, Snapshot, max_output, parse_status, rate_for
from ._context import current_customer, current_path
from ._reservations import Reservations, Ticket

__all__ = ["CapsGuard", "utcnow"]

log = logging.getLogger("llmobserve")

_INTERVAL_S = 2.0
_INITIAL_TIMEOUT_S = 3.0  # bounds how long observe() may wait for the first caps (a refused port fails at once)
_MAX_AGE = timedelta(seconds=60)
_WARN_EVERY_S = 60.0
_MAX_CUSTOMERS = 100  # the status route takes at most 100 customer= and 50 model= parameters
_MAX_MODELS = 50
_MAX_PENDING = 1_000
_guards: weakref.WeakSet[CapsGuard] = weakref.WeakSet()


def utcnow() -> datetime:
    return datetime.now(UTC)


def _after_fork() -> None:  # threads do not survive a fork: the child's guards start their own
    for guard in list(_guards):
        guard._restart_after_fork()


os.register_at_fork(after_in_child=_after_fork)


@dataclass(slots=True)
class _Estimate:
    period: datetime | None
    spend: Decimal


@dataclass(frozen=True, slots=True)
class _Pending:
    """A finished call whose model had no rates yet, with what its caps stood at when it ended."""

    labels: Labels
    usage: Any
    bases: list[tuple[str, str, datetime | None, Decimal]]  # (cap id, subject, period, spend)


class CapsGuard:
    """Holds the caps, checks calls against them and keeps both fresh.

    ``clock`` (a ``Callable[[], datetime]``, UTC) decides rollovers and staleness; tests replace it.
    """

    def __init__(
        self,
        api: CapsApi,
        service: str = "",
        strict: bool = False,
        interval: float = _INTERVAL_S,
        max_age: timedelta = _MAX_AGE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.api = api
        self.service = service
        self.strict = strict
        self.interval = interval
        self.max_age = max_age
        self.clock = clock
        self.reservations = Reservations(api, self._period_of)
        self._snapshot: Snapshot | None = None
        self._estimates: dict[tuple[str, str], _Estimate] = {}  # (cap id, subject) → spend incl. our calls
        self._pending: deque[_Pending] = deque(maxlen=_MAX_PENDING)
        self._customers: OrderedDict[str, None] = OrderedDict()
        self._models: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._warned_at = -_WARN_EVERY_S
        _guards.add(self)

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self, initial_timeout: float = _INITIAL_TIMEOUT_S) -> CapsGuard:
        """One bounded fetch now (so the first call already knows the blocks), then poll in the background."""
        self.refresh(initial_timeout)
        self._thread = threading.Thread(
            target=contextvars.Context().run, args=(self._run,), name="llmobserve-caps", daemon=True
        )
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            if self._stopped:
                return
            self._wake.clear()
            try:
                self.refresh()
            except Exception:  # never let the poller die
                log.debug("llmobserve: caps refresh failed", exc_info=True)

    def _restart_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._wake = threading.Event()
        self.reservations.restart_after_fork()
        if self._thread is not None and not self._stopped:
            self._thread = threading.Thread(
                target=contextvars.Context().run, args=(self._run,), name="llmobserve-caps", daemon=True
            )
            self._thread.start()

    def flush(self, timeout: float) -> bool:
        """Wait until every settlement and release queued so far has been sent."""
        return self.reservations.flush(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.reservations.flush(timeout)
        self.api.close()

    # ---- refresh ------------------------------------------------------------------------------
    def refresh(self, timeout: float | None = None) -> bool:
        """Fetch the caps now; on failure keep what we had. Returns whether it worked."""
        with self._refreshing:  # one at a time: an older answer never lands after a newer one
            return self._refresh(timeout)

    def _refresh(self, timeout: float | None) -> bool:
        with self._lock:
            customers, models = list(self._customers), list(self._models)
        fetched_at = self.clock()
        try:
            response = self.api.status(customers, models, timeout)
            if response.status_code != 200:
                return self._failed(f"HTTP {response.status_code}")
            snapshot = parse_status(response.json(), fetched_at)
        except httpx.HTTPError as exc:
            return self._failed(f"{type(exc).__name__}: {exc}")
        except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError) as exc:
            return self._failed(f"unreadable answer ({type(exc).__name__}: {exc})")
        with self._lock:
            self._price_pending(snapshot, set(models))
            self._reconcile(snapshot)
            self._snapshot = snapshot
        return True

    def _failed(self, reason: str) -> bool:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            # Only a warning when blocks are at stake; a server without caps (or not reachable from
            # the start, e.g. an OTLP collector in front) is worth a line at info level.
            level = logging.WARNING if self._snapshot is not None and self._snapshot.caps else logging.INFO
            log.log(
                level,
                "llmobserve: cannot refresh spending caps from %s (%s); keeping the last known caps, "
                "calls are allowed once they are over %d s old",
                self.api.base_url,
                reason,
                self.max_age.total_seconds(),
            )
        return False

    def _reconcile(self, snapshot: Snapshot) -> None:
        """Keep an estimate only while it is above the server's number in the same period."""
        caps = {cap.id: cap for cap in snapshot.caps}
        for key, estimate in list(self._estimates.items()):
            cap = caps.get(key[0])
            if cap is None or estimate.period != cap.period_start or estimate.spend <= cap.server_spend(key[1]):
                del self._estimates[key]

    # ---- checks ---------------------------------------------------------------------------------
    @property
    def engaged(self) -> bool:
        """Whether calls need looking at (strict mode, or hard-block caps are known)."""
        snapshot = self._snapshot
        return self.strict or (snapshot is not None and bool(snapshot.caps))

    def _fresh(self, now: datetime) -> Snapshot | None:
        snapshot = self._snapshot
        return snapshot if snapshot is not None and now - snapshot.fetched_at <= self.max_age else None

    def _spend(self, cap: Cap, subject: str, now: datetime) -> tuple[datetime | None, Decimal]:
        """(the period we are in, what is spent in it) by our clock."""
        period: datetime | None
        if cap.resets_at is not None and now >= cap.resets_at:
            period, server = cap.resets_at, Decimal(0)  # rolled over since the last answer
        else:
            period, server = cap.period_start, cap.server_spend(subject)
        estimate = self._estimates.get((cap.id, subject))
        if estimate is not None and estimate.period == period:
            return period, max(server, estimate.spend)
        return period, server

    def labels(self, provider: str, model: str) -> Labels:
        """The current call's labels: from the app's context (agent, customer) and our resource (service)."""
        return Labels(
            normalize_provider(provider),
            (model,) if model else (),
            agent_from_section(current_path()),
            current_customer() or "",
            self.service,
        )

    def admit(self, provider: str, model: str, facts: dict[str, Any], input_bytes: int) -> Ticket | None:
        """Raise ``SpendingCapExceeded`` if a cap that applies is exhausted; else a ticket to conclude
        the call with (None: nothing to follow, no cap applies)."""
        labels = self.labels(provider, model)
        self._seen(labels)
        now = self.clock()
        snapshot = self._fresh(now)
        matched = False
        for cap in snapshot.caps if snapshot is not None else ():
            subject = cap.subject(labels)
            if subject is None:
                continue
            matched = True
            with self._lock:
                _, spend = self._spend(cap, subject, now)
            if spend >= cap.limit:
                raise blocked(cap.id, cap.name, cap.scope, subject or None, spend, cap.limit, cap.resets_at, cap.period)
        # Strict mode asks the server whenever a cap applies, or when we do not know (stale or never fetched).
        reserve = self.strict and (matched or snapshot is None)
        if not matched and not reserve:
            return None
        return Ticket(labels, reserve, input_bytes, max_output(facts))

    def _seen(self, labels: Labels) -> None:
        new_model = False
        with self._lock:
            if labels.customer:
                _remember(self._customers, labels.customer, _MAX_CUSTOMERS)
            for model in labels.models:
                new_model |= _remember(self._models, f"{labels.provider}/{model}", _MAX_MODELS)
        if new_model:
            self._wake.set()  # fetch its rates now rather than at the next tick

    def _period_of(self, cap_id: str) -> str:
        snapshot = self._snapshot
        return next((cap.period for cap in snapshot.caps if cap.id == cap_id), "") if snapshot else ""

    # ---- after the call ------------------------------------------------------------------------
    def reserve(self, ticket: Ticket) -> None:
        """Strict mode: the one round trip, before the request leaves (raises when the server refuses)."""
        if ticket.reserve:
            self.reservations.reserve(ticket)

    def conclude(self, ticket: Ticket, usage: Any, status: int) -> None:
        """The call is over: add its cost to our estimates; settle or release its reservation.
        ``usage`` is the response's ``UsageState`` (None: no answer at all)."""
        billable = usage is not None and usage.has_usage and 0 < status < 400
        if billable:
            try:
                self._add(ticket.labels, usage)
            except Exception:
                log.debug("llmobserve: could not add a call's cost to the caps", exc_info=True)
        self.reservations.conclude(ticket, usage if billable else None)

    def _add(self, labels: Labels, usage: Any) -> None:
        if usage.model and usage.model not in labels.models:
            labels = Labels(
                labels.provider, (*labels.models, usage.model), labels.agent, labels.customer, labels.service
            )
            self._seen(labels)
        snapshot = self._snapshot
        if snapshot is None:
            return
        now = self.clock()
        with self._lock:
            # What each applicable cap stood at when the call ended (the server cannot have its span yet).
            bases = [
                (cap.id, subject, *self._spend(cap, subject, now))
                for cap in snapshot.caps
                if (subject := cap.subject(labels)) is not None
            ]
            if not bases:
                return
            rate = rate_for(snapshot, labels)
            if rate is None:  # the first call of a model: priced when the rates we asked for arrive
                self._pending.append(_Pending(labels, usage, bases))
                return
            self._apply(bases, rate.cost(usage))

    def _apply(self, bases: list[tuple[str, str, datetime | None, Decimal]], cost: Decimal) -> None:
        """Add ``cost`` on top of each base (or of a later estimate in the same period). Under ``_lock``."""
        if cost <= 0:
            return
        for cap_id, subject, period, base in bases:
            estimate = self._estimates.get((cap_id, subject))
            if estimate is not None and estimate.period == period:
                base = max(base, estimate.spend)
            self._estimates[(cap_id, subject)] = _Estimate(period, base + cost)

    def _price_pending(self, snapshot: Snapshot, asked: set[str]) -> None:
        """Price the calls that waited for rates; forget those whose model the server does not know.
        Under ``_lock``, before ``_reconcile``: an estimate the new answer already covers is dropped there."""
        waiting = list(self._pending)
        self._pending.clear()
        for item in waiting:
            rate = rate_for(snapshot, item.labels)
            if rate is not None:
                self._apply(item.bases, rate.cost(item.usage))
            elif not any(f"{item.labels.provider}/{m}" in asked for m in item.labels.models):
                self._pending.append(item)  # not asked for yet: wait for the next answer


def _remember(seen: OrderedDict[str, None], key: str, limit: int) -> bool:
    """Most recently used last; returns whether ``key`` is new."""
    if key in seen:
        seen.move_to_end(key)
        return False
    seen[key] = None
    if len(seen) > limit:
        seen.popitem(last=False)
    return True
