"""What one request, and one span in it, may carry: bounds checked before anything is stored.

A span outside them is refused alone (``partial_success``) or, for a clock running ahead, stored
with its start clamped; nothing a sender puts in a span can fail a shared insert. The hour and
month caps keep one request from touching many partitions (ClickHouse refuses an insert block
spanning more than 100) or marking many rollup buckets for the shared refresh thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

__all__ = ["NS_PER_DAY", "NS_PER_HOUR", "Limits", "month_of_hour"]

NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 24 * NS_PER_HOUR


@dataclass(frozen=True, slots=True)
class Limits:
    retention_days: int = 400
    max_future_ns: int = 5 * 60 * 1_000_000_000  # beyond: clock skew, start clamped to receive time
    max_duration_ns: int = 7 * NS_PER_DAY
    max_tokens: int = 10**10  # per count; ten billion tokens is far beyond any single call
    max_cost: Decimal = Decimal(100_000)  # USD per span; storage holds < 1e6 (Decimal(18,12))
    max_hours: int = 48  # distinct start hours per request
    max_months: int = 3  # distinct start months (partitions) per request
    max_spans: int = 100_000  # per request; a 32 MB body of bare spans would hold ~800k

    @property
    def retention_ns(self) -> int:
        return self.retention_days * NS_PER_DAY


def month_of_hour(hour: int) -> int:
    """``YYYYMM`` of an hour since the epoch: the spans table's partition key."""
    moment = datetime.fromtimestamp(hour * 3600, tz=UTC)
    return moment.year * 100 + moment.month
