"""Re-pricing stored spans after prices change: recompute costs from the spans' own attributes
and write the rows again with a newer version, which ReplacingMergeTree keeps instead of the old
ones, so no span is added and every read (FINAL) sees the new cost at once.

Spans are read hour by hour and, within an hour, ``SLICE`` rows at a time, so memory stays bounded
however many spans a range (or one busy hour) holds."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from llmobserve.pricing import CustomPrices, Pricer, price_attributes
from llmobserve.storage import SPAN_COLUMNS, Store, spans_table

from .timerange import EARLIEST, LATEST

__all__ = ["RepriceResult", "reprice"]

_COSTS = (
    "cost_usd",
    "cost_input_usd",
    "cost_output_usd",
    "cost_cache_read_usd",
    "cost_cache_write_usd",
    "price_source",
    "priced",
    "billable",
)
_INDEX = {name: i for i, name in enumerate(SPAN_COLUMNS)}
SLICE = 5_000  # spans in memory at a time (with their attributes, a few MB)


@dataclass(frozen=True, slots=True)
class RepriceResult:
    spans: int
    cost_before: Decimal
    cost_after: Decimal


def reprice(
    store: Store,
    tenant: str,
    start: datetime,
    end: datetime,
    pricer: Pricer,
    custom: CustomPrices | None,
    slice_rows: int = SLICE,
) -> RepriceResult:
    total, before, after = 0, Decimal(0), Decimal(0)
    version = time.time_ns()
    # No span is stored outside these: clamping keeps every bound bindable, whoever calls.
    start, end = max(_utc(start), EARLIEST), min(_utc(end), LATEST)
    # Only the hours that hold spans: a range of years must not mean thousands of empty queries.
    for hour in store.llm_span_hours(tenant, start, end):
        hour = _utc(hour)
        lo, hi = max(start, hour), min(end, hour + timedelta(hours=1))
        last: tuple[str, str] | None = None
        while True:
            rows = store.llm_span_slice(tenant, lo, hi, last, slice_rows)
            for values in rows:
                before += values[_INDEX["cost_usd"]]
                after += _reprice_row(values, pricer, custom, version)
            if rows:
                store.insert_spans(spans_table([tuple(v) for v in rows]))
                total += len(rows)
                last = (rows[-1][_INDEX["trace_id"]], rows[-1][_INDEX["span_id"]])
            if len(rows) < slice_rows:
                break
    return RepriceResult(total, before, after)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _reprice_row(values: list[Any], pricer: Pricer, custom: CustomPrices | None, version: int) -> Decimal:
    """Put the current price's costs and ``version`` into one stored row; returns its new cost."""
    cost = price_attributes(
        pricer,
        dict(values[_INDEX["span_attributes"]]),
        values[_INDEX["start_time"]],
        values[_INDEX["status_code"]] == "error",
        custom,
    )
    for name, value in zip(
        _COSTS,
        (
            cost.total,
            cost.input,
            cost.output,
            cost.cache_read,
            cost.cache_write,
            cost.source,
            cost.priced,
            cost.billable,
        ),
    ):
        values[_INDEX[name]] = value
    values[_INDEX["version"]] = version
    return cost.total
