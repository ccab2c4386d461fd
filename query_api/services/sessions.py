"""Dashboard sign-in sessions, held server-side: the browser gets a random id in an HttpOnly cookie,
never the API key.

Held in this process's memory (bounded, expiring), not in ClickHouse: a session is a convenience
that a restart may end (users sign in again), while a key in storage would be a second copy of a
secret. Each request re-checks the key, so revoking it ends its sessions at once.

Any read key can sign in, and apps ship read keys, so the bounds are fair between keys: a key holds
at most ``per_key`` sessions and its next one replaces its own least recently used; when the whole
store is full, room is made in the tenant (then its key) holding the most. Signing in in a loop
therefore ends only the looping key's own sessions.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from .ratelimit import WindowCounter

__all__ = ["Session", "SessionStore", "SignInLimiter"]


@dataclass(slots=True)
class Session:
    id: str
    key: str
    tenant: str
    csrf: str
    created: float
    seen: float
    flash: list[str] = field(default_factory=list)  # one-time notices shown on the next page (e.g. a new key)
    owner: str = ""  # the key's sha256: the quota's index holds no second copy of the secret


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class SessionStore:
    def __init__(
        self,
        idle_s: float = 8 * 3600,
        absolute_s: float = 7 * 86400,
        max_sessions: int = 10_000,
        per_key: int = 20,
        clock: Callable[[], float] = time.monotonic,
        sign_ins: SignInLimiter | None = None,
    ) -> None:
        if max_sessions < 1 or per_key < 1:
            raise ValueError("max_sessions and per_key must be at least 1")
        self.idle_s = idle_s
        self.absolute_s = absolute_s
        self.max_sessions = max_sessions
        self.per_key = per_key
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        # tenant -> key digest -> that key's session ids, least recently used first
        self._owners: dict[str, dict[str, OrderedDict[str, None]]] = {}
        self._counts: Counter[str] = Counter()  # sessions per tenant
        self._swept = -math.inf
        self._lock = threading.Lock()
        self.sign_ins = sign_ins or SignInLimiter(clock=clock)
        """The sign-in form's attempt counters, kept beside the sessions they guard."""

    def _now(self) -> float:
        return self._clock()

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.seen > self.idle_s or now - session.created > self.absolute_s

    def create(self, key: str, tenant: str) -> Session:
        now = self._now()
        owner = _digest(key)
        session = Session(secrets.token_urlsafe(32), key, tenant, secrets.token_urlsafe(32), now, now, owner=owner)
        with self._lock:
            mine = self._owners.get(tenant, {}).get(owner)
            while mine and len(mine) >= self.per_key:
                self._drop(next(iter(mine)))
            if len(self._sessions) >= self.max_sessions and now - self._swept > 60:
                # Abandoned sessions are only noticed when used: clear them before evicting live ones.
                self._swept = now
                for stale in [s.id for s in self._sessions.values() if self._expired(s, now)]:
                    self._drop(stale)
            while len(self._sessions) >= self.max_sessions:
                tenant = max(self._counts, key=self._counts.__getitem__)
                ids: OrderedDict[str, None] = max(self._owners[tenant].values(), key=len)
                self._drop(next(iter(ids)))
            self._sessions[session.id] = session
            self._owners.setdefault(tenant, {}).setdefault(owner, OrderedDict())[session.id] = None
            self._counts[tenant] += 1
        return session

    def get(self, session_id: str) -> Session | None:
        now = self._now()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if self._expired(session, now):
                self._drop(session_id)
                return None
            session.seen = now
            self._owners[session.tenant][session.owner].move_to_end(session_id)
            return session

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._drop(session_id)

    def _drop(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return
        owners = self._owners[session.tenant]
        del owners[session.owner][session_id]
        if not owners[session.owner]:
            del owners[session.owner]
        if not owners:
            del self._owners[session.tenant]
        self._counts[session.tenant] -= 1
        if not self._counts[session.tenant]:
            del self._counts[session.tenant]


class SignInLimiter:
    """Sign-in attempts per minute: failed ones per client address (guessing keys, or flooding the
    form), and every one per key (a key signing in in a loop). An attempt counts as failed from the
    moment it is admitted until it succeeds, so concurrent guesses cannot slip past the limit."""

    def __init__(
        self,
        failures_per_address: int = 10,
        attempts_per_key: int = 60,
        window_s: float = 60.0,
        max_tracked: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures_per_address = failures_per_address
        self.attempts_per_key = attempts_per_key
        self._clock = clock
        self._failures = WindowCounter(window_s, max_tracked)
        self._attempts = WindowCounter(window_s, max_tracked)
        self._lock = threading.Lock()

    def admit(self, address: str, key_name: str) -> int:
        """Count an attempt; or, over a limit, the seconds to wait (and nothing is counted)."""
        now = self._clock()
        with self._lock:
            wait = max(
                self._failures.wait(address, self.failures_per_address, now),
                self._attempts.wait(key_name, self.attempts_per_key, now),
            )
            if not wait:
                self._failures.add(address, now)
                self._attempts.add(key_name, now)
            return wait

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.add(address, self._clock(), step=-1)
