"""Each tenant's cap statuses, computed once for all the processes that poll them.

Every process running the SDK polls ``GET /caps/status`` every 2 s, and apps without it may ask
``/caps/check`` before each call: read from storage each time, N processes would cost N scans of
the tenant's windows. An entry here is reused until spans are written for its tenant in this
process (so, in one process, an answer is never older than the data), and for at most ``ttl``
seconds of the caps' clock (what another process may have written meanwhile; a clock moved to
another period starts afresh). One caller per tenant computes at a time; the others wait for its
answer rather than scan too.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from llmobserve.storage import StoredCap, written_tenants

from ._status import CapStatus

__all__ = ["StatusCache"]


class StatusCache:
    def __init__(
        self, ttl: float = 1.0, max_tenants: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._max = max_tenants
        self._clock = clock
        self._lock = threading.Lock()
        # tenant -> (generation, caps, computed at, statuses); generation counts this tenant's writes
        self._entries: OrderedDict[str, tuple[int, tuple[StoredCap, ...], float, list[CapStatus]]] = OrderedDict()
        self._generation: dict[str, int] = {}
        self._computing: dict[str, threading.Lock] = {}
        self.computed = 0

    def statuses(self, tenant: str, caps: list[StoredCap], compute: Callable[[], list[CapStatus]]) -> list[CapStatus]:
        """The statuses of ``caps`` (the tenant's current caps, as just read), from ``compute`` or
        from an answer it gave for the same caps since the tenant's last write."""
        key = tuple(caps)
        found = self._fresh(tenant, key)
        if found is not None:
            return found
        with self._lock:
            if len(self._computing) > 2 * self._max:
                self._prune()
            computing = self._computing.setdefault(tenant, threading.Lock())
        with computing:
            found = self._fresh(tenant, key)  # computed by the caller we waited for
            if found is not None:
                return found
            with self._lock:
                generation = self._generation.setdefault(tenant, 0)  # from now on, writes are counted
            started = self._clock()
            result = compute()
            with self._lock:
                self.computed += 1
                if self._generation.get(tenant, 0) == generation:  # no write landed while computing
                    self._entries[tenant] = (generation, key, started, result)
                    self._entries.move_to_end(tenant)
                    while len(self._entries) > self._max:
                        dropped, _ = self._entries.popitem(last=False)
                        self._generation.pop(dropped, None)
                        self._computing.pop(dropped, None)
            return result

    def _prune(self) -> None:
        """Forget tenants with no answer kept and nobody computing (under ``_lock``)."""
        for tenant in [t for t, lock in self._computing.items() if t not in self._entries and not lock.locked()]:
            del self._computing[tenant]
            self._generation.pop(tenant, None)

    def _fresh(self, tenant: str, key: tuple[StoredCap, ...]) -> list[CapStatus] | None:
        with self._lock:
            entry = self._entries.get(tenant)
            if (
                entry is None
                or entry[0] != self._generation.get(tenant, 0)
                or entry[1] != key
                or not 0 <= self._clock() - entry[2] < self.ttl
            ):  # a clock set back is no proof of youth
                return None
            return entry[3]

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
                    self._entries.pop(tenant, None)
