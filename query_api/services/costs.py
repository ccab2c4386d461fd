"""Cost reads: breakdowns (top N and the rest), zero-filled time series, and the summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from llmobserve.storage import REST_KEY, Store

from ..schemas.costs import (
    BreakdownRest,
    BreakdownRowPublic,
    CostBreakdown,
    CostSummary,
    Series,
    Timeseries,
    TopRow,
    WindowTotal,
)
from .errors import BadRequest
from .timerange import EARLIEST, LATEST

__all__ = [
    "BREAKDOWN_LIMIT",
    "MAX_BREAKDOWN_LIMIT",
    "MAX_SERIES_LIMIT",
    "SERIES_LIMIT",
    "breakdown",
    "summary",
    "timeseries",
]

BREAKDOWN_LIMIT = 1000
MAX_BREAKDOWN_LIMIT = 10_000
# A chart shows a few dozen lines; 200k customers x 720 hours would be a 100-million-cell answer.
SERIES_LIMIT = 50
MAX_SERIES_LIMIT = 1000
_STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
_MAX_BUCKETS = 5000


def breakdown(
    store: Store, tenant: str, group_by: str, frm: datetime, to: datetime, filters: dict[str, str], limit: int
) -> CostBreakdown:
    found = store.cost_breakdown_top(tenant, group_by, frm, to, filters, limit)
    everything = found.rows + ([found.rest] if found.rest else [])
    rest = found.rest
    return CostBreakdown(
        group_by=group_by,
        from_=frm,
        to=to,
        total_cost_usd=float(sum((r.cost_usd for r in everything), Decimal(0))),
        unpriced_calls=sum(r.unpriced_calls for r in everything),
        rows=[
            BreakdownRowPublic(
                key=r.key,
                cost_usd=float(r.cost_usd),
                calls=r.calls,
                input_tokens=r.input_tokens,
                output_tokens=r.output_tokens,
                unpriced_calls=r.unpriced_calls,
                failed_calls=r.failed_calls,
                cached_tokens=r.cached_tokens,
            )
            for r in found.rows
        ],
        limit=limit,
        truncated=rest is not None,
        rest=None
        if rest is None
        else BreakdownRest(
            groups=found.rest_groups,
            cost_usd=float(rest.cost_usd),
            calls=rest.calls,
            input_tokens=rest.input_tokens,
            output_tokens=rest.output_tokens,
            unpriced_calls=rest.unpriced_calls,
            failed_calls=rest.failed_calls,
            cached_tokens=rest.cached_tokens,
        ),
    )


def timeseries(
    store: Store,
    tenant: str,
    interval: str,
    group_by: str | None,
    frm: datetime,
    to: datetime,
    filters: dict[str, str],
    limit: int,
) -> Timeseries:
    step = _STEP[interval]
    first = frm.replace(minute=0, second=0, microsecond=0)
    if interval == "day":
        first = first.replace(hour=0)
    count = int((to - first) / step) + (1 if (to - first) % step else 0)
    if count > _MAX_BUCKETS:
        raise BadRequest(
            f"'from' to 'to' holds {count} {interval} buckets; at most {_MAX_BUCKETS}: use a "
            "wider 'interval' or a shorter range"
        )
    buckets = [first + i * step for i in range(count)]
    index = {b: i for i, b in enumerate(buckets)}
    groups = store.timeseries_groups(tenant, group_by, frm, to, filters) if group_by else 1
    truncated = groups > limit
    series: dict[str, tuple[list[Decimal], list[int]]] = {}
    rows = store.cost_timeseries(tenant, interval, group_by, frm, to, filters, limit if truncated else None)
    for bucket, key, cost, calls in rows:
        at = bucket if bucket.tzinfo else bucket.replace(tzinfo=UTC)
        costs, counts = series.setdefault(key, ([Decimal(0)] * count, [0] * count))
        costs[index[at]] += cost
        counts[index[at]] += calls
    rest = series.pop(REST_KEY, None)
    ordered = sorted(series.items(), key=lambda item: (-sum(item[1][0]), item[0]))
    return Timeseries(
        interval=interval,
        group_by=group_by,
        from_=frm,
        to=to,
        buckets=buckets,
        series=[Series(key=k, cost_usd=[float(c) for c in costs], calls=counts) for k, (costs, counts) in ordered],
        limit=limit if group_by else None,
        truncated=truncated,
        rest=Series(key="(rest)", cost_usd=[float(c) for c in rest[0]], calls=rest[1]) if rest else None,
        rest_groups=groups - limit if truncated else 0,
    )


def _change(now: Decimal, before: Decimal) -> float | None:
    return None if before == 0 else float((now - before) / before * 100)


def summary(store: Store, tenant: str, now: datetime) -> CostSummary:
    """Last 24 h and 7 days against the windows before, top spenders, the untracked share."""
    day, week = timedelta(days=1), timedelta(days=7)
    if now - 2 * week < EARLIEST:  # the windows compared reach two weeks back
        raise BadRequest(
            f"'as_of' must be between {(EARLIEST + 2 * week).isoformat()} and "
            f"{LATEST.isoformat()}, got {now.isoformat()}"
        )
    windows = [(now - day, now), (now - 2 * day, now - day), (now - week, now), (now - 2 * week, now - week)]
    (c24, n24), (p24, m24), (c7, n7), (p7, m7) = store.cost_totals(tenant, windows)
    dimensions = ["provider", "model", "agent", "customer"]
    tops = store.cost_tops(tenant, dimensions, now - week, now, 5)
    top = {d: [TopRow(key=r.key, cost_usd=float(r.cost_usd), calls=r.calls) for r in tops[d][:5]] for d in dimensions}
    untracked = sum((r.cost_usd for r in tops["agent"] if r.key == "untracked"), Decimal(0))
    return CostSummary(
        as_of=now,
        last_24h=WindowTotal(cost_usd=float(c24), calls=n24),
        previous_24h=WindowTotal(cost_usd=float(p24), calls=m24),
        change_24h_pct=_change(c24, p24),
        last_7d=WindowTotal(cost_usd=float(c7), calls=n7),
        previous_7d=WindowTotal(cost_usd=float(p7), calls=m7),
        change_7d_pct=_change(c7, p7),
        top=top,
        untracked_share_pct=0.0 if c7 == 0 else float(untracked / c7 * 100),
    )
