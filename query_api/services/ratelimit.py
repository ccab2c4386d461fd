"""Counting events per name in fixed windows, in bounded memory: what rate limits are made of."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter", "WindowCounter"]


@dataclass(slots=True)
class _Window:
    start: float
    count: int


class WindowCounter:
    """Events per name in fixed windows, at most ``max_names`` names. Windows are kept in the order
    they started, so the expired ones are always at the front; when full of live windows, the one
    closest to its end goes (its client gets a fresh count early: memory stays bounded whatever the
    number of addresses or keys an attacker rotates through)."""

    def __init__(self, window_s: float, max_names: int) -> None:
        self.window_s = window_s
        self.max_names = max_names
        self._windows: dict[str, _Window] = {}

    def _expire(self, now: float) -> None:
        while self._windows:
            name, first = next(iter(self._windows.items()))
            if now - first.start < self.window_s:
                return
            del self._windows[name]

    def wait(self, name: str, limit: int, now: float) -> int:
        """Whole seconds until ``name`` may act again; 0 if it may now."""
        self._expire(now)
        window = self._windows.get(name)
        if window is None or window.count < limit:
            return 0
        return max(1, math.ceil(window.start + self.window_s - now))

    def add(self, name: str, now: float, step: int = 1) -> None:
        self._expire(now)
        window = self._windows.get(name)
        if window is None:
            if step < 0:
                return
            if len(self._windows) >= self.max_names:
                del self._windows[next(iter(self._windows))]
            window = self._windows[name] = _Window(now, 0)
        window.count = max(0, window.count + step)


class RateLimiter:
    """At most ``limit`` events per name per ``window_s`` seconds (e.g. test notifications per tenant)."""

    def __init__(
        self, limit: int, window_s: float = 60.0, max_names: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._counter = WindowCounter(window_s, max_names)
        self._lock = threading.Lock()

    def admit(self, name: str) -> int:
        """Count an event; or, over the limit, the whole seconds to wait (and nothing is counted)."""
        now = self._clock()
        with self._lock:
            wait = self._counter.wait(name, self.limit, now)
            if not wait:
                self._counter.add(name, now)
            return wait
