"""``from`` / ``to`` query parameters: ISO 8601, UTC when no offset is given, validated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .errors import BadRequest

__all__ = ["DEFAULT_WINDOW", "EARLIEST", "LATEST", "check_time", "parse_iso_time", "parse_time", "resolve_range"]

DEFAULT_WINDOW = timedelta(days=30)
# Every instant the API accepts: inside what ClickHouse's DateTime (rollup buckets, from 1970) and
# DateTime64(9) (spans, up to 2262) can hold, so no query parameter can fail to bind or overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_SHOWN = 64  # characters of a rejected value quoted back: a 10 kB value must not make a 10 kB error


def _echo(raw: str) -> str:
    return repr(raw if len(raw) <= _SHOWN else raw[:_SHOWN] + "...")


def parse_iso_time(raw: str) -> datetime:
    """ISO 8601; a bare date means its midnight, no offset means UTC. Raises ValueError."""
    text = raw.strip()
    if len(text) == 10:
        text += "T00:00:00"
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def check_time(name: str, value: datetime) -> datetime:
    """``value`` in UTC, or a 400 naming ``name`` if it lies outside [EARLIEST, LATEST]."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC instant in datetime's range
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise BadRequest(
            f"'{name}' must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}, got {value.isoformat()}"
        )
    return utc


def parse_time(name: str, raw: str) -> datetime:
    """The query parameter ``name`` as a UTC time, or a 400 naming it."""
    try:
        value = parse_iso_time(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be an ISO 8601 time such as 2026-11-25T10:00:00Z, got {_echo(raw)}") from None
    return check_time(name, value)


def resolve_range(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """[from, to): ``to`` defaults to now, ``from`` to 30 days before ``to`` (never before EARLIEST)."""
    to = parse_time("to", end) if end else datetime.now(UTC)
    frm = parse_time("from", start) if start else max(EARLIEST, to - DEFAULT_WINDOW)
    if frm >= to:
        raise BadRequest(f"'from' ({frm.isoformat()}) must be before 'to' ({to.isoformat()})")
    return frm, to
