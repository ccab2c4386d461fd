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
from collections import OrderedDict
from collections.abc import Callable

from ._keys import KEY_PREFIX, Principal

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

    def __init__(self, lookup: Callable[[str], Principal | None], ttl: float = 30.0, negative_ttl: float = 2.0,
                 max_valid: int = _MAX_VALID, max_invalid: int = _MAX_INVALID) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._max_valid, self._max_invalid = max_valid, max_invalid
        self._valid: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._invalid: OrderedDict[str, float] = OrderedDict()
        self._generation = 0  # bumped by every revocation
        self._lock = threading.Lock()
        self.lookups = 0  # storage queries made: what a flood of bad keys costs us

    def principal(self, key: str | None) -> Principal | None:
        if not key:
            return None
        now = time.monotonic()
        hit = self._valid.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        expires = self._invalid.get(key)
        if expires is not None and expires > now:
            return None
        if _KEY_SHAPE.fullmatch(key) is None:
            return None
        generation = self._generation
        self.lookups += 1
        found = self._lookup(key)
        with self._lock:
            if found is None:
                self._invalid[key] = now + self._negative_ttl
                self._invalid.move_to_end(key)
                if len(self._invalid) > self._max_invalid:
                    self._invalid.popitem(last=False)
            elif generation == self._generation:  # no revocation raced this lookup
                self._valid[key] = (now + self._ttl, found)
                self._valid.move_to_end(key)
                if len(self._valid) > self._max_valid:
                    self._valid.popitem(last=False)
        return found

    def forget_key_id(self, key_id: str) -> None:
        with self._lock:
            self._generation += 1
            for key, (_, principal) in list(self._valid.items()):
                if principal.key_id == key_id:
                    del self._valid[key]
