"""``from`` / ``to`` query parameters: ISO 8601, UTC when no offset is given, validated."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi import HTTPException

__all__ = ["DEFAULT_WINDOW", "parse_iso_time", "resolve_range"]

DEFAULT_WINDOW = timedelta(days=30)


def parse_iso_time(raw: str) -> datetime:
    """ISO 8601; a bare date means its midnight, no offset means UTC. Raises ValueError."""
    text = raw.strip()
    if len(text) == 10:
        text += "T00:00:00"
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _parse(name: str, raw: str) -> datetime:
    try:
        return parse_iso_time(raw)
    except ValueError:
        raise HTTPException(400, f"'{name}' must be an ISO 8601 time such as 2026-11-25T10:00:00Z, got {raw!r}") from None


def resolve_range(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """[from, to): ``to`` defaults to now, ``from`` to 30 days before ``to``."""
    to = _parse("to", end) if end else datetime.now(timezone.utc)
    frm = _parse("from", start) if start else to - DEFAULT_WINDOW
    if frm >= to:
        raise HTTPException(400, f"'from' ({frm.isoformat()}) must be before 'to' ({to.isoformat()})")
    return frm.astimezone(timezone.utc), to.astimezone(timezone.utc)
