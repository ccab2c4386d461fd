from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from llmobserve.storage import EXPORT_SPAN_COLUMNS, Store

from .._timerange import resolve_range
from ..deps import ReadPrincipal, StoreDep
from ..models import GroupBy
from .costs import MAX_BREAKDOWN_LIMIT

router = APIRouter(prefix="/api/v1/export", tags=["export"])


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exact in exports: a spreadsheet or script can sum them without float drift
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


# A text cell starting with one of these is a formula to Excel, LibreOffice and Sheets, and span
# names, customer ids, ... are whatever an app sent (OWASP, CSV injection): a leading ' keeps it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return _plain(value)  # numbers, decimals and times are never neutralised: they are not client text


def _csv(columns: Iterable[str], blocks: Iterable[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for block in blocks:
        writer.writerows([_cell(v) for v in row] for row in block)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _json(columns: tuple[str, ...], blocks: Iterable[list[Any]]) -> Iterator[str]:
    yield "["
    first = True
    for block in blocks:
        parts = [json.dumps(dict(zip(columns, map(_plain, row))), separators=(",", ":")) for row in block]
        if parts:
            yield ("" if first else ",") + ",".join(parts)
            first = False
    yield "]"


def _response(kind: str, fmt: str, columns: tuple[str, ...], blocks: Iterable[list[Any]],
              headers: dict[str, str] | None = None) -> StreamingResponse:
    filename = f"llmobserve-{kind}-{date.today().isoformat()}.{fmt}"
    body = _csv(columns, blocks) if fmt == "csv" else _json(columns, blocks)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    return StreamingResponse(body, media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})})


@router.get("/traces", summary="Every span in a time range, streamed (CSV or a JSON array)")
def export_traces(
    principal: ReadPrincipal,
    store: StoreDep,
    format: Literal["csv", "json"] = Query("csv"),  # noqa: A002 - the public parameter name
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
) -> StreamingResponse:
    frm, to = resolve_range(start, end)
    return _response("traces", format, EXPORT_SPAN_COLUMNS, store.export_spans(principal.tenant, frm, to))


@router.get("/costs", summary="The cost breakdown as a file (CSV or JSON), at most `limit` rows")
def export_costs(
    principal: ReadPrincipal,
    store: StoreDep,
    format: Literal["csv", "json"] = Query("csv"),  # noqa: A002
    group_by: GroupBy = Query("day"),
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
    limit: int = Query(MAX_BREAKDOWN_LIMIT, ge=1, le=MAX_BREAKDOWN_LIMIT,
                       description="the most groups, most expensive first; the others are summed in one last row "
                                   "keyed '(rest: N more groups)'"),
) -> StreamingResponse:
    frm, to = resolve_range(start, end)
    return costs_file(store, principal.tenant, format, group_by, frm, to, limit)


def costs_file(store: Store, tenant: str, fmt: str, group_by: str, frm: datetime, to: datetime, limit: int,
               filters: dict[str, str] | None = None) -> StreamingResponse:
    """The cost breakdown file; the dashboard's download serves this too, so both give the same rows."""
    found = store.cost_breakdown_top(tenant, group_by, frm, to, filters, limit)
    columns = ("key", "cost_usd", "calls", "input_tokens", "output_tokens", "cached_tokens", "unpriced_calls",
               "failed_calls")
    rows = found.rows + ([replace(found.rest, key=f"(rest: {found.rest_groups} more groups)")] if found.rest else [])
    block = [[r.key, r.cost_usd, r.calls, r.input_tokens, r.output_tokens, r.cached_tokens, r.unpriced_calls,
              r.failed_calls] for r in rows]
    # The file's last row says it too; these let a program know without reading keys.
    headers = {"X-Truncated": "true" if found.rest else "false", "X-Rest-Groups": str(found.rest_groups)}
    return _response(f"costs-by-{group_by}", fmt, columns, [block], headers)
