"""API-key authentication with a short-lived in-process cache, shared by receiver and API.

Every OTLP export carries the key, so looking it up in ClickHouse each time would cost a query
per request. Positive answers live ``ttl`` seconds; ``forget_key_id`` drops them at once when a
key is revoked through this process (other processes see the revocation within ``ttl``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ._keys import Principal

__all__ = ["Authenticator", "bearer_token"]

_MAX_ENTRIES = 10_000


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

    def __init__(self, lookup: Callable[[str], Principal | None], ttl: float = 30.0, negative_ttl: float = 2.0) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def principal(self, key: str | None) -> Principal | None:
        if not key:
            return None
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = self._lookup(key)
        with self._lock:
            if len(self._cache) >= _MAX_ENTRIES:
                self._cache.clear()
            self._cache[key] = (now + (self._ttl if found else self._negative_ttl), found)
        return found

    def forget_key_id(self, key_id: str) -> None:
        with self._lock:
            for key, (_, principal) in list(self._cache.items()):
                if principal is not None and principal.key_id == key_id:
                    del self._cache[key]
