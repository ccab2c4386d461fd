"""Each tenant's cap statuses, computed once for all the processes that poll them.

Every process running the SDK polls ``GET /caps/status`` every 2 s, and apps without it may ask
``/caps/check`` before each call: read from storage each time, N processes would cost N scans of
the tenant's windows. During steady ingest a span lands while every scan runs, so an answer that
had to predate every write would never be reused. What holds instead, by the caps' clock, with an
answer's age counted from the start of the computation that made it:

- An answer is reused as is while younger than ``ttl``, unless this process has written spans for
  the tenant since it started: then the next caller computes again, so after a quiet spell the
  first answer after a write includes it.
- Writes cost a tenant at most one computation per ``ttl``: an answer computed because writes had
  made the previous one stale is reused, stale, until it is ``ttl`` old. During steady ingest an
  answer may thus miss up to ``ttl`` seconds of this process's writes, as it may miss another
  process's.
- One caller per tenant computes at a time. While it does, callers holding an answer younger than
  ``2 * ttl`` (stale or ``ttl`` old) get that answer at once rather than wait; callers with none
  (the first, caps edited, a clock moved to another period or set back, or an answer ``2 * ttl``
  old) wait for the computation under way and take its answer, or its error, without computing
  again.

So no answer is more than ``2 * ttl`` old when handed out, unless the caller computed it or
waited for it (a read that started before it returns, however slow), and none is more than ``ttl``
old unless a newer one is being computed. ``computed`` counts the computations (failed ones too).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmobserve.control import StoredCap
from llmobserve.storage import written_tenants

from ._status import CapStatus

__all__ = ["StatusCache"]


@dataclass(frozen=True, slots=True)
class _Entry:
    generation: int  # the tenant's write count when the computation started
    key: tuple[StoredCap, ...]
    started: float
    statuses: list[CapStatus]
    for_writes: bool  # computed because writes had made the previous answer stale


@dataclass(slots=True, eq=False)
class _Flight:
    """The computation under way for a tenant; waiters take its outcome."""

    key: tuple[StoredCap, ...]
    generation: int
    started: float
    for_writes: bool
    done: threading.Event = field(default_factory=threading.Event)
    statuses: list[CapStatus] | None = None
    error: BaseException | None = None


class StatusCache:
    def __init__(
        self, ttl: float = 1.0, max_tenants: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._max = max_tenants
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._generation: dict[str, int] = {}  # counts each polled tenant's writes
        self._computing: dict[str, _Flight] = {}
        self.computed = 0

    def statuses(self, tenant: str, caps: list[StoredCap], compute: Callable[[], list[CapStatus]]) -> list[CapStatus]:
        """The statuses of ``caps`` (the tenant's current caps, as just read), from ``compute`` or
        from an answer it gave for the same caps (see the module's docstring for how old)."""
        key = tuple(caps)
        while True:
            with self._lock:
                now = self._clock()
                entry = self._entries.get(tenant)
                flight = self._computing.get(tenant)
                usable = entry is not None and entry.key == key and 0 <= now - entry.started < 2 * self.ttl
                written = False
                if entry is not None and usable:
                    written = entry.generation != self._generation.get(tenant, 0)
                    young = now - entry.started < self.ttl
                    if (young and (not written or entry.for_writes)) or flight is not None:
                        return entry.statuses
                mine = flight is None
                if flight is None:
                    if len(self._generation) > 2 * self._max:
                        self._prune()
                    generation = self._generation.setdefault(tenant, 0)  # from now on, writes are counted
                    flight = self._computing[tenant] = _Flight(key, generation, now, usable and written)
            if mine:
                return self._compute(tenant, flight, compute)
            flight.done.wait()
            if flight.key == key:
                if flight.error is not None:
                    raise flight.error
                if flight.statuses is not None:
                    return flight.statuses
            # It answered other caps (they were edited meanwhile): ask again.

    def _compute(self, tenant: str, flight: _Flight, compute: Callable[[], list[CapStatus]]) -> list[CapStatus]:
        """Run ``compute`` for ``flight``, keep its answer and hand its outcome to the callers waiting."""
        try:
            statuses = flight.statuses = compute()
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                self.computed += 1
                if self._computing.get(tenant) is flight:
                    del self._computing[tenant]
                if flight.statuses is not None and tenant in self._generation:
                    # Kept even if spans landed meanwhile: its generation marks it stale, and stale
                    # is what the other pollers get while the next computation runs.
                    self._entries[tenant] = _Entry(
                        flight.generation, flight.key, flight.started, flight.statuses, flight.for_writes
                    )
                    self._entries.move_to_end(tenant)
                    while len(self._entries) > self._max:
                        dropped, _ = self._entries.popitem(last=False)
                        if dropped not in self._computing:
                            self._generation.pop(dropped, None)
            flight.done.set()
        return statuses

    def _prune(self) -> None:
        """Forget tenants with no answer kept and nobody computing (under ``_lock``)."""
        for tenant in [t for t in self._generation if t not in self._entries and t not in self._computing]:
            del self._generation[tenant]

    def note_write(self, table: Any) -> None:
        """A store listener (``Store.on_spans_written``): spans of these tenants were just written.
        It runs on the writer's thread: nothing to do until some tenant has polled."""
        if not self._generation:
            return
        tenants = written_tenants([table])
        with self._lock:
            for tenant in tenants:
                if tenant in self._generation:
                    self._generation[tenant] += 1
