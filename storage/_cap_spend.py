"""Spend per label value in time windows, for spending caps: the breakdowns' exact sources, one
scan for every window and every dimension a tenant's caps name."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from ._rollups import DIMENSIONS
from ._sources import dims_source
from ._spans import FINAL_SETTINGS

__all__ = ["CAP_DIMENSIONS", "windows_spend", "written_spend", "written_tenants"]

CAP_DIMENSIONS = ("provider", "model", "agent", "customer", "service")
assert set(CAP_DIMENSIONS) <= set(dict(DIMENSIONS))

Spend = dict[str, dict[str, Decimal]]
"""dimension -> stored value ('' for calls without one) -> cost."""


def windows_spend(
    client: Client, tenant: str, windows: list[tuple[datetime, datetime]], dims: list[str]
) -> list[Spend]:
    """For each [start, end) window, the cost of LLM calls starting in it per dimension and value.
    Failed and unpriced calls cost 0, so they add nothing; the values of any one dimension sum to
    the window's total. One scan of the widest range answers every window (conditional sums)."""
    found: list[Spend] = [{dim: {} for dim in dims} for _ in windows]
    if not dims or not windows:
        return found
    lo, hi = min(w[0] for w in windows), max(w[1] for w in windows)
    source, params = dims_source(client, tenant, lo, hi, sorted(dims), cuts=[t for w in windows for t in w])
    sums = []
    for i, (start, end) in enumerate(windows):
        params[f"ws{i}"], params[f"we{i}"] = start, end
        sums.append(
            f"sumIf(cost_usd, start_time >= {{ws{i}:DateTime64(9, 'UTC')}} "
            f"AND start_time < {{we{i}:DateTime64(9, 'UTC')}}) AS w{i}"
        )
    rows = client.query(
        f"SELECT dim, value, {', '.join(sums)} FROM {source} GROUP BY dim, value {FINAL_SETTINGS}", parameters=params
    ).result_rows
    for dim, value, *costs in rows:
        for i, cost in enumerate(costs):
            if cost:
                found[i][dim][value] = Decimal(cost)
    return found


def written_spend(tables: list[pa.Table], tenants: list[str]) -> dict[str, dict[str, dict[str, Decimal]]]:
    """The LLM cost in just-written ``spans_table``s, for these tenants only: tenant -> dimension
    (``CAP_DIMENSIONS``) -> value -> cost. A dimension's values sum to the tenant's total."""
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    llm = table.filter(pc.and_(table.column("is_llm"), pc.is_in(table.column("tenant"), pa.array(tenants))))
    found: dict[str, dict[str, dict[str, Decimal]]] = {t: {d: {} for d in CAP_DIMENSIONS} for t in tenants}
    for dim in CAP_DIMENSIONS:
        sums = llm.group_by(["tenant", dim]).aggregate([("cost_usd", "sum")])
        for tenant, value, cost in zip(*(sums.column(i).to_pylist() for i in range(3))):
            found[tenant][dim][value] = cost
    return found


def written_tenants(tables: list[pa.Table]) -> set[str]:
    return {t for table in tables for t in pc.unique(table.column("tenant")).to_pylist()}
