"""Where each cap stands now: exact spend in its current period, read from the breakdowns' sources.

Caps that share a period and time zone share one window, and one scan of it serves every cap in
it (global, per-value and ``each_customer``), so the cost is per window, not per cap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from llmobserve.control import StoredCap
from llmobserve.storage import Store

from ._periods import period_window

__all__ = ["CapStatus", "Labels", "applies_to", "blocking", "evaluate", "state_of", "utcnow"]

Labels = Mapping[str, str]
"""A call's provider, model, agent, customer and service ('' when unknown)."""

_DIM = {"global": "provider", "each_customer": "customer"}  # a global cap sums every provider's spend


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CapStatus:
    cap: StoredCap
    period_start: datetime
    resets_at: datetime | None
    spend: Decimal
    """The cap's spend; for ``each_customer``, the spend of the customer nearest the limit."""
    by_customer: dict[str, Decimal] = field(default_factory=dict)
    """``each_customer`` only: every customer's spend this period."""

    def subjects(self) -> dict[str, Decimal]:
        """What each alert and block is about: the customers of a template, else the cap's one value."""
        return self.by_customer if self.cap.scope == "each_customer" else {self.cap.value: self.spend}


def state_of(cap: StoredCap, spend: Decimal) -> str:
    if not cap.enabled:
        return "disabled"
    if spend >= cap.limit_usd:
        return "exceeded"
    return "warning" if spend >= min(cap.thresholds) * cap.limit_usd else "ok"


def blocking(caps: list[StoredCap]) -> list[StoredCap]:
    """The caps that stop calls: enabled, ``hard_block``."""
    return [c for c in caps if c.enabled and c.enforcement == "hard_block"]


def applies_to(cap: StoredCap, labels: Labels) -> str | None:
    """The subject a call with these labels spends against under ``cap``, or None if it is outside."""
    if cap.scope == "global":
        return ""
    if cap.scope == "each_customer":
        return labels.get("customer") or None
    return cap.value if labels.get(cap.scope, "") == cap.value else None


def evaluate(
    store: Store, tenant: str, caps: list[StoredCap], clock: Callable[[], datetime] = utcnow
) -> list[CapStatus]:
    """The status of each cap, exact as of now."""
    now = clock()
    groups: dict[tuple[str, str], list[StoredCap]] = defaultdict(list)
    for cap in caps:
        groups[(cap.period, cap.time_zone)].append(cap)
    bounds = {key: period_window(key[0], key[1], now) for key in groups}
    # A total cap reads to a day past now: spans from senders whose clocks run ahead count too.
    windows = [(start, end or now + timedelta(days=1)) for start, end in bounds.values()]
    dims = sorted({_DIM.get(c.scope, c.scope) for c in caps})
    found: list[CapStatus] = []
    for (key, members), spend in zip(groups.items(), store.cap_spend(tenant, windows, dims)):
        start, end = bounds[key]
        for cap in members:
            values = spend[_DIM.get(cap.scope, cap.scope)]
            if cap.scope == "global":
                found.append(CapStatus(cap, start, end, sum(values.values(), Decimal(0))))
            elif cap.scope == "each_customer":
                customers = {c: s for c, s in values.items() if c}
                found.append(CapStatus(cap, start, end, max(customers.values(), default=Decimal(0)), customers))
            else:
                found.append(CapStatus(cap, start, end, values.get(cap.value, Decimal(0))))
    order = {cap.cap_id: i for i, cap in enumerate(caps)}
    return sorted(found, key=lambda s: order[s.cap.cap_id])
