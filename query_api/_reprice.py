"""Re-pricing stored spans after prices change: recompute costs from the spans' own attributes
and write the rows again with a newer version, which ReplacingMergeTree keeps instead of the old
ones, so no span is added and every read (FINAL) sees the new cost at once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from llmobserve.pricing import CustomPrices, Pricer, price_attributes
from llmobserve.storage import SPAN_COLUMNS, Store, select_span_rows, spans_table

__all__ = ["RepriceResult", "reprice"]

_COSTS = ("cost_usd", "cost_input_usd", "cost_output_usd", "cost_cache_read_usd", "cost_cache_write_usd",
          "price_source", "priced", "billable")
_CHUNK = timedelta(days=1)  # one day of spans in memory at a time


@dataclass(frozen=True, slots=True)
class RepriceResult:
    spans: int
    cost_before: Decimal
    cost_after: Decimal


def reprice(store: Store, tenant: str, start: datetime, end: datetime, pricer: Pricer,
            custom: CustomPrices | None) -> RepriceResult:
    index = {name: i for i, name in enumerate(SPAN_COLUMNS)}
    total, before, after = 0, Decimal(0), Decimal(0)
    version = time.time_ns()
    # Only the days that hold spans: a range of years must not mean thousands of empty queries.
    days = store.client.query(
        "SELECT DISTINCT toStartOfDay(start_time) AS d FROM spans WHERE tenant = {t:String} AND is_llm "
        "AND start_time >= {s:DateTime64(9, 'UTC')} AND start_time < {e:DateTime64(9, 'UTC')} ORDER BY d",
        parameters={"t": tenant, "s": start, "e": end},
    ).result_rows
    for (day,) in days:
        day = day if day.tzinfo else day.replace(tzinfo=timezone.utc)
        cursor, upto = max(start, day), min(end, day + _CHUNK)
        rows = select_span_rows(store.client, "tenant = {t:String} AND is_llm AND start_time >= {s:DateTime64(9, 'UTC')} "
                                "AND start_time < {e:DateTime64(9, 'UTC')}", {"t": tenant, "s": cursor, "e": upto})
        updated = []
        for values in rows:
            cost = price_attributes(pricer, dict(values[index["span_attributes"]]), values[index["start_time"]],
                                    values[index["status_code"]] == "error", custom)
            before += values[index["cost_usd"]]
            after += cost.total
            for name, value in zip(_COSTS, (cost.total, cost.input, cost.output, cost.cache_read, cost.cache_write,
                                            cost.source, cost.priced, cost.billable)):
                values[index[name]] = value
            values[index["version"]] = version
            updated.append(tuple(values))
        if updated:
            store.insert_spans(spans_table(updated))
        total += len(updated)
    return RepriceResult(total, before, after)
