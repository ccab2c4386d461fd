"""The background thread that keeps derived data current: rollups, runs, foreign-span attribution."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from clickhouse_connect.driver.client import Client
from setproctitle import setthreadtitle

from ._rollups import HOUR, RollupTracker, refresh_days, refresh_hours

__all__ = ["Maintainer"]

log = logging.getLogger("llmobserve.storage")

_MARGIN_NS = 300 * 1_000_000_000  # marks still in flight when the state was read are picked up next time


class Maintainer:
    """Refreshes dirty rollup buckets, checking every ``interval`` seconds.

    A bucket is refreshed once no write has touched it for ``settle`` seconds, or once it has
    been dirty for ``max_lag`` seconds (the current hour under steady traffic), and never more
    often than every 10 × its last refresh time. Readers stay exact meanwhile: they read dirty
    buckets raw, which costs them time, not correctness.

    The thread is shared by every tenant, so each pass serves tenants in turn (one day's buckets
    each, starting with a different tenant every pass) and a tenant that has used ``tenant_budget``
    seconds in this pass waits for the next: one tenant's thousand dirty buckets cost the others
    one budget at most, not the whole backlog.
    """

    def __init__(
        self,
        client: Client,
        tracker: RollupTracker,
        interval: float = 1.0,
        settle: float = 10.0,
        max_lag: float = 300.0,
        extra_tasks: list[Callable[[], object]] | None = None,
        tenant_budget: float = 2.0,
    ) -> None:
        self._client = client
        self._tracker = tracker
        self._interval = interval
        self._settle_ns = int(settle * 1e9)
        self._max_lag = max_lag
        self._tenant_budget = tenant_budget
        self._dirty_since: dict[tuple[str, str, datetime], float] = {}
        self._tasks = list(extra_tasks or [])
        self._next_allowed: dict[tuple[str, str, datetime], float] = {}
        self._since_ns = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pending: int | None = None
        """Dirty buckets not refreshed yet (None before the first pass has read the state)."""
        self.passes = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="llmobserve-maintainer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        setthreadtitle("llmo-maintain")  # names it in top -H and /proc
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.warning("llmobserve: rollup refresh failed; retrying", exc_info=True)
            self._stop.wait(self._interval)

    def _fair_order(
        self, groups: dict[tuple[str, str, datetime], dict[datetime, int]]
    ) -> list[tuple[str, str, dict[datetime, int]]]:
        """Round robin over tenants, hours before days within each, a different tenant first each pass."""
        queues: dict[str, list[tuple[str, str, dict[datetime, int]]]] = defaultdict(list)
        for (tenant, grain, _day), marks in sorted(groups.items(), key=lambda item: (item[0][1] != HOUR, item[0])):
            queues[tenant].append((tenant, grain, marks))
        tenants = sorted(queues)
        if tenants:
            shift = self.passes % len(tenants)
            tenants = tenants[shift:] + tenants[:shift]
        ordered = []
        while any(queues.values()):
            for tenant in tenants:
                if queues[tenant]:
                    ordered.append(queues[tenant].pop(0))
        return ordered

    def run_once(self, force: bool = False) -> int:
        """One pass; returns how many buckets it refreshed. ``force`` refreshes every dirty bucket now."""
        for task in self._tasks:  # attribution first: what it re-writes is then refreshed in this pass
            try:
                task()
            except Exception:
                log.warning("llmobserve: background task %s failed; retrying", task, exc_info=True)
        read_ns, dirty = self._tracker.take_dirty(self._since_ns)
        now = time.monotonic()
        groups: dict[tuple[str, str, datetime], dict[datetime, int]] = defaultdict(dict)
        waiting: list[int] = []
        for tenant, grain, bucket, mark in dirty:
            key = (tenant, grain, bucket)
            since = self._dirty_since.setdefault(key, now)
            settled = read_ns - mark >= self._settle_ns or now - since >= self._max_lag
            if not force and (not settled or self._next_allowed.get(key, 0.0) > now):
                waiting.append(mark)
                continue
            day = bucket.replace(hour=0)
            groups[(tenant, grain, day)][bucket] = mark
        self.pending = len(dirty)
        refreshed = 0
        spent: dict[str, float] = defaultdict(float)
        for tenant, grain, marks in self._fair_order(groups):
            if spent[tenant] >= self._tenant_budget and not force:
                waiting.extend(marks.values())  # this tenant's turn is over for this pass
                continue
            started = time.monotonic()
            try:
                (refresh_hours if grain == HOUR else refresh_days)(self._client, tenant, marks)
            except Exception:
                log.warning("llmobserve: refreshing %s rollups of %s failed; will retry", grain, tenant, exc_info=True)
                waiting.extend(marks.values())
                continue
            finally:
                spent[tenant] += time.monotonic() - started
            gap = 10 * (time.monotonic() - started)
            for bucket in marks:
                self._next_allowed[(tenant, grain, bucket)] = time.monotonic() + gap
                self._dirty_since.pop((tenant, grain, bucket), None)
            refreshed += len(marks)
            self.pending -= len(marks)
        self._since_ns = min([read_ns, *waiting]) - _MARGIN_NS
        self.pending = len(waiting)
        self.passes += 1
        if len(self._next_allowed) > 100_000:  # forget old rate limits
            cutoff = time.monotonic()
            self._next_allowed = {k: v for k, v in self._next_allowed.items() if v > cutoff}
        if len(self._dirty_since) > 100_000:
            self._dirty_since.clear()
        return refreshed
