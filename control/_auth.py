"""API-key authentication with short-lived in-process caches, shared by receiver and API.

Every OTLP export carries the key, so looking it up in ClickHouse each time would cost a query
per request. Valid keys are cached ``ttl`` seconds; ``forget_key_id`` drops them at once when a
key is revoked through this process (other processes see the revocation within ``ttl``).

A key that is not shaped like ours is refused without a storage query; other misses are cached
apart from valid keys, so a flood of bad keys never evicts a valid one. A lookup that was in
flight while its key was revoked is not cached.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

from ._records import KEY_PREFIX, Principal

__all__ = ["Authenticator", "bearer_token"]

_MAX_VALID = 10_000
_MAX_INVALID = 10_000
_KEY_SHAPE = re.compile(re.escape(KEY_PREFIX) + r"[0-9a-f]{12}_[A-Za-z0-9_\-]{16,64}")


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value (scheme case-insensitive)."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authenticator:
    """Resolves presented keys to principals, caching hits for ``ttl`` and misses for ``negative_ttl``."""

    def __init__(
        self,
        lookup: Callable[[str], Principal | None],
        ttl: float = 30.0,
        negative_ttl: float = 2.0,
        max_valid: int = _MAX_VALID,
        max_invalid: int = _MAX_INVALID,
        generation: Callable[[], int] | None = None,
        generation_every_s: float = 1.0,
    ) -> None:
        """``generation()``: the control store's revocation counter; read at most every
        ``generation_every_s``, and when it grew (a key was revoked, maybe by another process)
        every cached key is dropped. So a revocation anywhere holds here within that interval."""
        self._lookup = lookup
        self._generation_of = generation
        self._generation_every_s = generation_every_s
        self._seen_generation: int | None = None
        # Least recently used first out, each entry for its ttl; a TTLCache is not thread-safe: under _lock.
        self._valid: TTLCache[str, Principal] = TTLCache(max_valid, ttl, timer=time.monotonic)
        self._invalid: TTLCache[str, bool] = TTLCache(max_invalid, negative_ttl, timer=time.monotonic)
        self._generation = 0  # bumped by every revocation
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.lookups = 0  # storage queries made: what a flood of bad keys costs us

    def cached(self, key: str) -> tuple[bool, Principal | None]:
        """(known, principal): what ``principal`` answers without a storage query, when it needs none
        (a cached key, a recently refused one, or a string that is not shaped like a key)."""
        with self._lock:
            hit = self._valid.get(key)
            if hit is not None:
                return True, hit
            if key in self._invalid:
                return True, None
        return (_KEY_SHAPE.fullmatch(key) is None), None

    def watch(self) -> None:
        """Poll the revocation counter in a daemon thread (the checks on the event loop never query)."""
        if self._generation_of is not None:
            # The baseline is read now, before anything is cached: a thread that first read it after a
            # revocation would take the revoked generation as its baseline and never drop the key.
            self.check_generation()
            threading.Thread(target=self._watch, name="llmobserve-key-generation", daemon=True).start()

    def _watch(self) -> None:
        while not self._stopped.wait(self._generation_every_s):
            self.check_generation()

    def close(self) -> None:
        """Stop polling (the store it polls is about to close)."""
        self._stopped.set()

    def check_generation(self) -> None:
        if self._generation_of is None:
            return
        try:
            current = self._generation_of()
        except Exception:  # the control store is down: keep the cache, try again next interval
            return
        with self._lock:
            if self._seen_generation is not None and current != self._seen_generation:
                self._generation += 1
                self._valid.clear()
            self._seen_generation = current

    def principal(self, key: str | None) -> Principal | None:
        if not key:
            return None
        with self._lock:
            hit = self._valid.get(key)
            if hit is not None:
                return hit
            if key in self._invalid:
                return None
            generation = self._generation
        if _KEY_SHAPE.fullmatch(key) is None:
            return None
        self.lookups += 1
        found = self._lookup(key)
        with self._lock:
            if found is None:
                self._invalid[key] = True
            elif generation == self._generation:  # no revocation raced this lookup
                self._valid[key] = found
        return found

    def forget_key_id(self, key_id: str) -> None:
        with self._lock:
            self._generation += 1
            for key, principal in list(self._valid.items()):
                if principal.key_id == key_id:
                    del self._valid[key]
