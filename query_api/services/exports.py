"""Files: every span of a range, and a cost breakdown, as CSV or a JSON array, streamed. The API's
export routes and the dashboard's downloads both serve these, so page, API and file agree."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi.responses import StreamingResponse

from llmobserve.storage import EXPORT_SPAN_COLUMNS, Store

__all__ = ["costs_file", "traces_file"]


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


def _response(
    kind: str, fmt: str, columns: tuple[str, ...], blocks: Iterable[list[Any]], headers: dict[str, str] | None = None
) -> StreamingResponse:
    filename = f"llmobserve-{kind}-{date.today().isoformat()}.{fmt}"
    body = _csv(columns, blocks) if fmt == "csv" else _json(columns, blocks)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    return StreamingResponse(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})}
    )


def traces_file(store: Store, tenant: str, fmt: str, frm: datetime, to: datetime) -> StreamingResponse:
    return _response("traces", fmt, EXPORT_SPAN_COLUMNS, store.export_spans(tenant, frm, to))


def costs_file(
    store: Store,
    tenant: str,
    fmt: str,
    group_by: str,
    frm: datetime,
    to: datetime,
    limit: int,
    filters: dict[str, str] | None = None,
) -> StreamingResponse:
    """The cost breakdown file: at most ``limit`` groups, the rest summed in one last row."""
    found = store.cost_breakdown_top(tenant, group_by, frm, to, filters, limit)
    columns = (
        "key",
        "cost_usd",
        "calls",
        "input_tokens",
        "output_tokens",
        "cached_tokens",
        "unpriced_calls",
        "failed_calls",
    )
    rows = found.rows + ([replace(found.rest, key=f"(rest: {found.rest_groups} more groups)")] if found.rest else [])
    block = [
        [r.key, r.cost_usd, r.calls, r.input_tokens, r.output_tokens, r.cached_tokens, r.unpriced_calls, r.failed_calls]
        for r in rows
    ]
    # The file's last row says it too; these let a program know without reading keys.
    headers = {"X-Truncated": "true" if found.rest else "false", "X-Rest-Groups": str(found.rest_groups)}
    return _response(f"costs-by-{group_by}", fmt, columns, [block], headers)
