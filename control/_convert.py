"""Values as the control tables keep them: aware UTC times (SQLite gives back naive ones), exact
decimal strings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

__all__ = ["dec", "dec_or_none", "ms", "text", "text_or_none", "utc", "utc_or_none"]


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def ms(value: datetime) -> datetime:
    """To the millisecond, as the records have always been stored (what a read gives back must
    equal what a write answered)."""
    value = utc(value)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def text(value: Decimal) -> str:
    return str(value)


def text_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def dec(value: str) -> Decimal:
    return Decimal(value)


def dec_or_none(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
