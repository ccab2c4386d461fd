"""A cap's current period: calendar boundaries in the cap's IANA time zone (weeks start Monday)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["EPOCH", "period_window"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    # A zone whose clocks jump at midnight has no 00:00 that day; zoneinfo then picks the instant
    # after the jump, which is still the first instant of that local day.
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def period_window(period: str, time_zone: str, now: datetime) -> tuple[datetime, datetime | None]:
    """[start, end) in UTC of the period holding ``now``; ``end`` is when it resets (None: never)."""
    if period == "total":
        return EPOCH, None
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    if period == "daily":
        first, after = today, today + timedelta(days=1)
    elif period == "weekly":
        first = today - timedelta(days=today.weekday())
        after = first + timedelta(days=7)
    elif period == "monthly":
        first = today.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"unknown period {period!r}")
    return _midnight(first, zone), _midnight(after, zone)
