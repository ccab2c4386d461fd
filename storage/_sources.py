"""Where an aggregate reads each part of its time range: a published rollup for every whole,
clean bucket, the raw spans (FINAL) for the rest (range edges, and buckets written since their
last refresh). Both sides yield the same columns, so one outer query sums them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from clickhouse_connect.driver.client import Client

from ._rollups import DAY, DIMENSIONS, HOUR, METRIC_NAMES, SPAN_METRICS, dimensions_array, tenant_state

__all__ = ["cost_source", "dims_source"]

_DIM_COLUMN = dict(DIMENSIONS)
_LABELS = ("provider", "model", "agent", "customer", "section_path", "service", "tool", "session")
_RAW = (
    f"SELECT start_time, {', '.join(_LABELS)}, {SPAN_METRICS} FROM spans FINAL "
    "WHERE tenant = {t:String} AND is_llm AND (%s)"
)
_STEP = {HOUR: timedelta(hours=1), DAY: timedelta(days=1)}


def _ceil(value: datetime, grain: str) -> datetime:
    floor = value.replace(minute=0, second=0, microsecond=0)
    if grain == DAY:
        floor = floor.replace(hour=0)
    return floor if floor == value else floor + _STEP[grain]


def _plan(
    client: Client, tenant: str, start: datetime, end: datetime, grain: str, whole_ok: bool, cuts: Iterable[datetime]
) -> tuple[list[tuple[datetime, int]], list[tuple[datetime, datetime]]]:
    """(bucket, version) pairs to read from the rollup, and the time ranges to read raw."""
    step = _STEP[grain]
    first, last = _ceil(start, grain), _ceil(end, grain)
    if end < last:
        last -= step
    if not whole_ok or first >= last:
        return [], [(start, end)]
    raw = [(start, first), (last, end)]
    cut_buckets = {_ceil(c, grain) - step for c in cuts if first < c < last and c != _ceil(c, grain)}
    raw += [(b, b + step) for b in cut_buckets]
    pairs = []
    for s in tenant_state(client, tenant, grain, first, last):
        if s.bucket in cut_buckets:
            continue
        if s.dirty or not s.version:
            raw.append((s.bucket, s.bucket + step))
        else:
            pairs.append((s.bucket, s.version))
    return pairs, _merge([r for r in raw if r[0] < r[1]])


def _ranges_sql(ranges: list[tuple[datetime, datetime]], params: dict[str, object], prefix: str) -> str:
    conds = []
    for i, (lo, hi) in enumerate(ranges):
        name = f"{prefix}r{i}"
        params[f"{name}s"], params[f"{name}e"] = lo, hi
        conds.append(
            f"(start_time >= {{{name}s:DateTime64(9, 'UTC')}} AND start_time < {{{name}e:DateTime64(9, 'UTC')}})"
        )
    return " OR ".join(conds) or "0"


def cost_source(
    client: Client,
    tenant: str,
    start: datetime,
    end: datetime,
    *,
    dim: str | None = None,
    filtered: bool = False,
    hourly: bool = False,
    cuts: Iterable[datetime] = (),
    prefix: str = "",
) -> tuple[str, dict[str, object]]:
    """A parenthesised subquery of LLM cost rows for [start, end) and its parameters.

    Columns: start_time, the label columns, then ``METRIC_NAMES``. ``dim`` is the one label the caller
    groups by (None for totals, day or hour); ``filtered`` means the caller also filters on labels,
    which only the all-dimension daily rollup can serve; ``hourly`` means it groups by hour.
    ``cuts`` are instants the caller splits on (window edges): a bucket holding one is read raw.
    ``prefix`` names this source's parameters apart from another's in the same query.
    """
    params: dict[str, object] = {"t": tenant}
    grain = DAY if filtered else HOUR
    pairs, ranges = _plan(client, tenant, start, end, grain, not (filtered and hourly), cuts)
    parts = []
    if pairs:
        params[f"{prefix}pairs"] = pairs
        parts.append(_rollup_part(grain, dim, prefix))
    if ranges or not parts:
        parts.append(_RAW % _ranges_sql(ranges, params, prefix))
    return "(" + " UNION ALL ".join(parts) + ")", params


def dims_source(
    client: Client, tenant: str, start: datetime, end: datetime, dims: list[str], cuts: Iterable[datetime] = ()
) -> tuple[str, dict[str, object]]:
    """Like ``cost_source`` for several dimensions at once: rows of (start_time, dim, value, metrics),
    one per dimension, so one scan serves every dimension's breakdown. ``cuts`` as for ``cost_source``."""
    params: dict[str, object] = {"t": tenant, "dims": dims}
    pairs, ranges = _plan(client, tenant, start, end, HOUR, True, cuts)
    parts = []
    if pairs:
        params["pairs"] = pairs
        parts.append(
            f"SELECT start_time, dim, value, {METRIC_NAMES} FROM cost_dims WHERE tenant = {{t:String}} "
            "AND (start_time, version) IN {pairs:Array(Tuple(DateTime('UTC'), UInt64))} "
            "AND dim IN {dims:Array(String)}"
        )
    if ranges or not parts:
        parts.append(
            f"SELECT start_time, d.1 AS dim, d.2 AS value, {SPAN_METRICS} "
            f"FROM spans FINAL ARRAY JOIN {dimensions_array(dims)} AS d "
            f"WHERE tenant = {{t:String}} AND is_llm AND ({_ranges_sql(ranges, params, '')})"
        )
    return "(" + " UNION ALL ".join(parts) + ")", params


def _rollup_part(grain: str, dim: str | None, prefix: str) -> str:
    where = (
        f"tenant = {{t:String}} AND (start_time, version) IN {{{prefix}pairs:Array(Tuple(DateTime('UTC'), UInt64))}}"
    )
    if grain == DAY:
        return f"SELECT start_time, {', '.join(_LABELS)}, {METRIC_NAMES} FROM cost_daily2 WHERE {where}"
    column = _DIM_COLUMN.get(dim or "", "")
    labels = ", ".join(f"value AS {c}" if c == column else f"'' AS {c}" for c in _LABELS)
    name = dim if column else "total"
    return f"SELECT start_time, {labels}, {METRIC_NAMES} FROM cost_dims WHERE {where} AND dim = '{name}'"


def _merge(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
