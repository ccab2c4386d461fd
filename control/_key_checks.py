"""API-key checks for OTLP/gRPC, OTLP/HTTP and the API, with a process-wide bound on storage lookups.

A key in the authenticator's caches (valid, or recently refused) is answered at once, also on the
event loop. Any other key costs a storage query: a flood of well-formed random keys is nothing but
such queries, so at most ``MAX_LOOKUPS`` of them run at a time in the whole process (both
transports share the bound), each miss waits at most ``LOOKUP_WAIT_S`` for a turn and is then
answered retryable (``LookupsBusy``: UNAVAILABLE / 503 with a retry hint). OTLP/HTTP runs lookups
on threads of its own, never on the event loop that also serves the API and the dashboard, nor on
the threadpool they share; the API's dependencies, already on that threadpool, wait their turn there.

A key that was valid not long ago and dropped out of the cache (its ``ttl`` ran out) has lanes of
its own (``KNOWN_LOOKUPS``): strangers' random keys cannot lock a tenant out, and a stranger
cannot present a key that was valid without knowing it. Only digests of keys are remembered here.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from setproctitle import setthreadtitle

from ._auth import Authenticator
from ._records import Principal

__all__ = ["KEY_CHECKS", "KeyChecks", "LookupsBusy", "MISS", "Miss"]

log = logging.getLogger("llmobserve.auth")


class LookupsBusy(Exception):
    """Every key-lookup slot of the process stayed busy: retry later (not the sender's fault)."""


# Embedded chDB runs one query at a time (a lookup: 1.4 ms, 721 a second from 1 thread, 589 from 4),
# so more slots only queue inside it, ahead of the writer's inserts and other tenants' queries
# (bench/isolation.py's flood: another tenant's export p50 1.5-1.6x idle with 1 or 2 slots, 1.7-2.7x
# with 4). 2 keep a lookup in flight while the next travels to a ClickHouse server.
MAX_LOOKUPS = 2
# Keys valid not long ago, re-checked as their cache entries expire (every ``ttl``, 30 s).
KNOWN_LOOKUPS = 2
# Long enough for a burst of honest first requests to be served in turn; short enough that a flood
# is answered (and shed) quickly instead of piling up waiting requests.
LOOKUP_WAIT_S = 1.0
_KNOWN_KEYS = 10_000  # as many as the authenticator caches
_KNOWN_FOR_S = 24 * 3600.0  # an exporter idle for a day still gets its own lane back
_WARN_EVERY_S = 60.0


class Miss(enum.Enum):
    MISS = "miss"


MISS = Miss.MISS


def _digest(token: str) -> bytes:
    return hashlib.blake2b(token.encode(), digest_size=16).digest()


class KeyChecks:
    """Resolves keys through an ``Authenticator``, bounding its storage lookups (see the module)."""

    def __init__(
        self, max_lookups: int = MAX_LOOKUPS, known_lookups: int = KNOWN_LOOKUPS, wait_s: float = LOOKUP_WAIT_S
    ) -> None:
        self.max_lookups = max_lookups
        self.known_lookups = known_lookups
        self.wait_s = wait_s
        self._slots = threading.BoundedSemaphore(max_lookups)
        self._known_slots = threading.BoundedSemaphore(known_lookups)
        self._known: OrderedDict[bytes, float] = OrderedDict()  # digest -> when it stops counting
        self._lock = threading.Lock()
        self._executors: dict[bool, ThreadPoolExecutor] = {}
        self.refused = 0  # misses answered "retry later": what the bound turned away
        self._refused_logged = 0
        self._logged_at = -_WARN_EVERY_S

    def cached(self, authenticator: Authenticator, token: str) -> Principal | None | Miss:
        """The authenticator's answer when it needs no storage query, else ``MISS``; never blocks on storage.

        tests/hostile/test_auth_flood.py holds it to the same answers as ``principal``."""
        known, hit = authenticator.cached(token)
        if hit is not None:
            self._remember(_digest(token))
            return hit
        return None if known else MISS

    def resolve(self, authenticator: Authenticator, token: str, deadline: float | None = None) -> Principal | None:
        """``authenticator.principal(token)`` once a lookup slot is free; blocks (a worker thread's call).

        Raises ``LookupsBusy`` when no slot frees up by ``deadline`` (``time.monotonic()``; default
        ``wait_s`` from now); what ``principal`` raises passes through."""
        deadline = time.monotonic() + self.wait_s if deadline is None else deadline
        digest = _digest(token)
        known = self._is_known(digest)
        slots = self._known_slots if known else self._slots
        remaining = deadline - time.monotonic()
        # Past the deadline already (queued behind a flood): refused at once, even if a slot is free,
        # so that a backlog drains in microseconds instead of each queued key costing a query.
        if remaining <= 0 or not slots.acquire(timeout=remaining):
            self._refuse()
            raise LookupsBusy("too many unknown API keys are being checked at once; retry later")
        try:
            found = authenticator.principal(token)
        finally:
            slots.release()
        if found is None:
            self._forget(digest)
        else:
            self._remember(digest)
        return found

    async def resolve_async(self, authenticator: Authenticator, token: str) -> Principal | None:
        """``resolve`` on this object's own threads (``max_lookups``, plus ``known_lookups`` for keys
        valid not long ago), so a flood neither blocks the event loop nor fills the shared threadpool."""
        deadline = time.monotonic() + self.wait_s
        executor = self._executor(self._is_known(_digest(token)))
        return await asyncio.get_running_loop().run_in_executor(executor, self.resolve, authenticator, token, deadline)

    def _executor(self, known: bool) -> ThreadPoolExecutor:
        # Created on first use: no threads in a process that only imports this module.
        with self._lock:
            executor = self._executors.get(known)
            if executor is None:
                executor = ThreadPoolExecutor(
                    max_workers=self.known_lookups if known else self.max_lookups,
                    thread_name_prefix="llmobserve-auth",
                    initializer=setthreadtitle,
                    initargs=("llmo-auth",),
                )
                self._executors[known] = executor
            return executor

    def _is_known(self, digest: bytes) -> bool:
        with self._lock:
            until = self._known.get(digest)
            if until is not None and until < time.monotonic():
                del self._known[digest]
                until = None
            return until is not None

    def _remember(self, digest: bytes) -> None:
        with self._lock:
            self._known[digest] = time.monotonic() + _KNOWN_FOR_S
            self._known.move_to_end(digest)
            if len(self._known) > _KNOWN_KEYS:
                self._known.popitem(last=False)

    def _forget(self, digest: bytes) -> None:
        with self._lock:
            self._known.pop(digest, None)

    def _refuse(self) -> None:
        with self._lock:
            self.refused += 1
            now = time.monotonic()
            if now - self._logged_at < _WARN_EVERY_S:
                return
            count, self._refused_logged, self._logged_at = self.refused - self._refused_logged, self.refused, now
        log.warning(
            "%d API-key checks answered 'retry later' since the last warning: more than %d unknown keys "
            "at once (a flood of made-up keys?)",
            count,
            self.max_lookups,
        )


KEY_CHECKS = KeyChecks()
"""The process's one bound: every receiver in the process shares it, over both transports."""
