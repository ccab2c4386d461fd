"""The runs list's ``cursor``: the last row's (sort value, trace id), opaque to clients.

A cursor comes back from the client, so it is input like any other: everything in it is checked
before it reaches a query (a forged NaN, 1e100 or year 1 would otherwise fail inside ClickHouse).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from llmobserve.storage import RunRow

from .errors import BadRequest
from .timerange import EARLIEST, LATEST

__all__ = ["TRACE_ID", "decode_cursor", "encode_cursor"]

TRACE_ID = re.compile(r"[0-9a-f]{32}")
_MAX_CHARS = 256  # ours are ~100; a longer one is forged, and is never decoded
_MAX_COST = Decimal(10) ** 26  # the runs table's Decimal(38, 12) holds 26 integer digits
_SCALE = -12


def encode_cursor(order: str, row: RunRow) -> str:
    value = row.start_time.isoformat() if order == "time" else format(row.cost_usd, "f")
    return base64.urlsafe_b64encode(json.dumps([order, value, row.trace_id]).encode()).decode()


def _bad(why: str) -> BadRequest:
    return BadRequest(f"invalid 'cursor' ({why}): pass next_cursor from the previous page, with the same sort")


def _sort_value(order: str, value: str) -> object:
    if order == "time":
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            raise _bad("its time is not ISO 8601") from None
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        try:
            at = at.astimezone(UTC)
        except OverflowError:
            raise _bad("its time is out of range") from None
        if not EARLIEST <= at <= LATEST:
            raise _bad("its time is out of range")
        return at
    try:
        cost = Decimal(value)
    except (InvalidOperation, ValueError):
        raise _bad("its cost is not a number") from None
    if not cost.is_finite() or not 0 <= cost < _MAX_COST or cost.as_tuple().exponent < _SCALE:  # type: ignore[operator]  # finite: an int exponent
        raise _bad("its cost is out of range")
    return Decimal(format(cost, "f"))  # fixed-point: 1E+5 reaches the query as 100000


def decode_cursor(order: str, cursor: str) -> tuple[object, str]:
    """(sort value, trace id) after which the next page starts; a 400 naming ``cursor`` otherwise."""
    if len(cursor) > _MAX_CHARS:
        raise _bad(f"longer than {_MAX_CHARS} characters")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, UnicodeError, RecursionError):
        raise _bad("not a cursor this API issued") from None
    if not (isinstance(decoded, list) and len(decoded) == 3 and all(isinstance(part, str) for part in decoded)):
        raise _bad("not a cursor this API issued")
    kind, value, trace_id = decoded
    if kind != order:
        raise _bad(f"it was issued for sort={kind[:16]}, not sort={order}")
    if not TRACE_ID.fullmatch(trace_id):
        raise _bad("its trace id is not 32 hex characters")
    return _sort_value(order, value), trace_id
