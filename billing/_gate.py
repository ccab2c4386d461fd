"""Plan limits at ingest: a free workspace past its monthly allowance has new spans refused.

The receiver asks ``refusal(tenant)`` per request and reports what it stored (``accepted``): answered from a per-workspace entry (plan and
spans counted this month) read from the control store at most every ``plan_ttl_s``, plus what this
process accepted since. Accepted and refused spans are added to the store's per-day counts by a
background thread every ``plan_ttl_s``, so N processes' counts add up; the allowance may be passed by
what other processes accept within one interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cachetools import TTLCache

from llmobserve.control import BillingRecords

from ._config import BillingConfig
from ._plans import FREE, month_start, plan_of

__all__ = ["PlanGate"]

log = logging.getLogger("llmobserve.billing")


@dataclass(frozen=True, slots=True)
class _Entry:
    limited: bool  # on the free plan
    used: int  # spans accepted this month when read
    month: date


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


class PlanGate:
    def __init__(self, records: BillingRecords, config: BillingConfig, upgrade_url: str) -> None:
        self._records = records
        self._config = config
        self._upgrade_url = upgrade_url
        self._entries: TTLCache[str, _Entry] = TTLCache(100_000, config.plan_ttl_s, timer=time.monotonic)
        self._lock = threading.Lock()
        # since the last flush: (workspace, day) -> [accepted, refused]; ``_unread`` holds what was
        # accepted since each workspace's entry was read, so the check counts it before the next read
        self._pending: defaultdict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
        self._unread: defaultdict[str, int] = defaultdict(int)
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._run, name="llmo-billing", daemon=True)
        self._flusher.start()

    # the receiver's questions
    def refusal(self, tenant: str) -> str | None:
        """Why ``tenant``'s new spans are refused, or None."""
        with self._lock:
            entry = self._entries.get(tenant)
            unread = self._unread[tenant] if tenant in self._unread else 0
        if entry is None:
            entry = self._read(tenant)
            unread = 0
        if not entry.limited or entry.used + unread < self._config.free_spans:
            return None
        return (
            f"workspace {tenant!r} has used the {self._config.free_spans:,} spans of the free plan this month; "
            f"new spans are refused until {_next_month(entry.month).isoformat()} (UTC). "
            f"Upgrade to pro at {self._upgrade_url}"
        )

    def refused(self, tenant: str, spans: int) -> None:
        with self._lock:
            self._pending[(tenant, datetime.now(UTC).date())][1] += spans

    def accepted(self, tenant: str, spans: int) -> None:
        """Count spans the receiver stored (what it acknowledged; rewrites of stored spans are not usage)."""
        with self._lock:
            self._pending[(tenant, datetime.now(UTC).date())][0] += spans
            self._unread[tenant] += spans

    def forget(self, tenant: str) -> None:
        """Read the workspace's plan again at the next request (its subscription just changed here)."""
        with self._lock:
            self._entries.pop(tenant, None)

    # reading and flushing
    def _read(self, tenant: str) -> _Entry:
        now = datetime.now(UTC)
        plan = plan_of(self._records.account(tenant), now, self._config.grace_days)
        first = month_start(now.date())
        used = self._records.usage(tenant, first, now.date())[0] if plan.name == FREE else 0
        entry = _Entry(plan.name == FREE, used, first)
        with self._lock:
            # counts flushed before the read are in ``used``; the rest stay unread
            self._unread[tenant] = sum(v[0] for (t, _), v in self._pending.items() if t == tenant)
            self._entries[tenant] = entry
        return entry

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, defaultdict(lambda: [0, 0])
        if not pending:
            return
        try:
            self._records.add_usage({key: (v[0], v[1]) for key, v in pending.items()})
        except Exception:  # the store is down: keep the counts for the next try
            log.exception("could not record usage; retrying")
            with self._lock:
                for key, (accepted, refused) in pending.items():
                    self._pending[key][0] += accepted
                    self._pending[key][1] += refused

    def _run(self) -> None:
        while not self._stop.wait(self._config.plan_ttl_s):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._flusher.join(timeout=5)
        self.flush()
