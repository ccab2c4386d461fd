"""Dashboard sign-in sessions, held server-side: the browser gets a random id in an HttpOnly cookie,
never the API key.

Held in this process's memory (bounded, expiring), not in ClickHouse: a session is a convenience
that a restart may end (users sign in again), while a key in storage would be a second copy of a
secret. Each request re-checks the key, so revoking it ends its sessions at once.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Session", "SessionStore"]


@dataclass(slots=True)
class Session:
    id: str
    key: str
    tenant: str
    csrf: str
    created: float
    seen: float
    flash: list[str] = field(default_factory=list)  # one-time notices shown on the next page (e.g. a new key)


class SessionStore:
    def __init__(
        self,
        idle_s: float = 8 * 3600,
        absolute_s: float = 7 * 86400,
        max_sessions: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_s = idle_s
        self.absolute_s = absolute_s
        self.max_sessions = max_sessions
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self._clock()

    def create(self, key: str, tenant: str) -> Session:
        now = self._now()
        session = Session(secrets.token_urlsafe(32), key, tenant, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._sessions[session.id] = session
            while len(self._sessions) > self.max_sessions:  # the least recently used goes first
                self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str) -> Session | None:
        now = self._now()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.seen > self.idle_s or now - session.created > self.absolute_s:
                del self._sessions[session_id]
                return None
            session.seen = now
            self._sessions.move_to_end(session_id)
            return session

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)
