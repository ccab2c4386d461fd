"""Dashboard sign-in sessions, in the control store: the browser gets a random id in an HttpOnly
cookie, never the API key; the row holds the id's SHA-256 and the id of the key that signed in. So a
session survives a restart and is valid in every API process, and revoking the key deletes its
sessions (``ControlStore.revoke_key``); each page also re-checks the key by its id.

Any read key can sign in, and apps ship read keys, so the bounds are fair between keys: a key holds
at most ``per_key`` sessions and its next one replaces its own least recently used; a workspace holds
at most ``per_tenant``. Signing in in a loop therefore ends only the looping key's own sessions.
One-time notices (a new key, a webhook secret) are kept in this process's memory for the next page,
never written to the store: they may hold a secret.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from llmobserve.control import ControlStore, SessionRow, hash_secret

from .ratelimit import WindowCounter

__all__ = ["Session", "SessionStore", "SignInLimiter", "cookie_name"]

_MAX_FLASHED = 10_000  # sessions with notices waiting in this process; the oldest are dropped beyond


@dataclass(slots=True)
class Session:
    id: str
    key_id: str | None  # signed in with a key, or
    user_id: str | None  # as a person, in the workspace ``tenant``
    tenant: str
    csrf: str
    created: float
    seen: float
    flash: list[str] = field(default_factory=list)  # one-time notices shown on the next page (e.g. a new key)


def cookie_name(public_url: str) -> tuple[str, bool]:
    """The session cookie's name and whether it is ``Secure``, from the configured public URL
    (``LLMOBSERVE_PUBLIC_URL``), never from a request header: X-Forwarded-Proto is whatever the
    client, or the proxy in front, chose to write.

    Over https the name is ``__Host-llmo_session``: browsers accept such a cookie only with
    ``Secure``, ``Path=/`` and no ``Domain``, so a sibling subdomain or a plain-http page cannot
    plant or shadow it. Browsers refuse a ``__Host-`` cookie without ``Secure``, and a ``Secure``
    one is not sent over plain http (a laptop at http://localhost:8000): there it stays ``llmo_session``."""
    secure = urlsplit(public_url).scheme == "https"
    return ("__Host-llmo_session" if secure else "llmo_session"), secure


class SessionStore:
    def __init__(
        self,
        control: ControlStore,
        idle_s: float = 8 * 3600,
        absolute_s: float = 7 * 86400,
        per_key: int = 20,
        per_tenant: int = 1_000,
        clock: Callable[[], float] = time.time,
        sign_ins: SignInLimiter | None = None,
    ) -> None:
        if per_key < 1 or per_tenant < per_key:
            raise ValueError("per_key must be at least 1 and per_tenant at least per_key")
        self.control = control
        self.idle_s = idle_s
        self.absolute_s = absolute_s
        self.per_key = per_key
        self.per_tenant = per_tenant
        self._clock = clock
        self._touch_every_s = min(60.0, idle_s / 10)  # a page view writes at most this often
        self._flash: OrderedDict[str, list[str]] = OrderedDict()
        self._lock = threading.Lock()
        self.sign_ins = sign_ins or SignInLimiter()
        """The sign-in form's attempt counters, kept beside the sessions they guard."""

    def _when(self, seconds: float) -> datetime:
        return datetime.fromtimestamp(seconds, UTC)

    def create(self, key_id: str, tenant: str) -> Session:
        return self._create(key_id, None, tenant)

    def create_person(self, user_id: str, workspace: str) -> Session:
        return self._create(None, user_id, workspace)

    def _create(self, key_id: str | None, user_id: str | None, tenant: str) -> Session:
        now = self._clock()
        session = Session(secrets.token_urlsafe(32), key_id, user_id, tenant, secrets.token_urlsafe(32), now, now)
        row = SessionRow(
            hash_secret(session.id), tenant, key_id, user_id, session.csrf, self._when(now), self._when(now)
        )
        self.control.create_session(row, self.per_key, self.per_tenant)
        return session

    def switch(self, session: Session, workspace: str) -> None:
        """A person's session now acts in ``workspace`` (the caller checked the membership)."""
        self.control.switch_session(hash_secret(session.id), workspace)
        session.tenant = workspace

    def get(self, session_id: str) -> Session | None:
        if not session_id or len(session_id) > 100:
            return None
        id_hash = hash_secret(session_id)
        row = self.control.session(id_hash)
        if row is None:
            return None
        now = self._clock()
        created, seen = row.created_at.timestamp(), row.seen_at.timestamp()
        if now - seen > self.idle_s or now - created > self.absolute_s:
            self.control.delete_session(id_hash)
            return None
        if now - seen >= self._touch_every_s:
            self.control.touch_session(id_hash, self._when(now))
            seen = now
        with self._lock:
            flash = self._flash.setdefault(session_id, [])
            self._flash.move_to_end(session_id)
            while len(self._flash) > _MAX_FLASHED:
                self._flash.popitem(last=False)
        return Session(session_id, row.key_id, row.user_id, row.workspace, row.csrf, created, seen, flash)

    def delete(self, session_id: str) -> None:
        self.control.delete_session(hash_secret(session_id))
        with self._lock:
            self._flash.pop(session_id, None)


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
