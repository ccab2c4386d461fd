"""Keeping the rollups exact: mark what changed, recompute it from ``spans FINAL``, publish.

Every write to ``spans`` marks its (tenant, hour) and (tenant, day) in ``rollup_state`` *after*
the insert and before it is acknowledged. A refresh reads the marks first, then recomputes those
buckets from ``spans FINAL``, so everything a mark stands for is in the result; it then publishes
its version and the newest mark it covered. Readers use a bucket's rollup only when it is clean
(no mark newer than what the last refresh covered) and read dirty buckets from the raw spans. So
answers are exact at every moment: duplicates collapse in FINAL, and a refresh replaces, never adds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from ._rollup_schema import MARK_EXISTING
from ._spans import FINAL_SETTINGS

__all__ = [
    "DIMENSIONS",
    "METRIC_NAMES",
    "RUN_SUMMARY",
    "SPAN_METRICS",
    "BucketState",
    "RollupTracker",
    "dimensions_array",
    "refresh_days",
    "refresh_hours",
    "tenant_state",
]

HOUR, DAY = "hour", "day"
# (name used by the API, spans column)
DIMENSIONS = (
    ("provider", "provider"),
    ("model", "model"),
    ("agent", "agent"),
    ("customer", "customer"),
    ("section", "section_path"),
    ("service", "service"),
    ("tool", "tool"),
    ("session", "session"),
)
_DAILY_KEY = "provider, model, agent, customer, section_path, service, tool, session"  # cost_daily2's label columns
_RUNS_SLICE = 300_000
# (rollup column, its value for one span): rollups store the sums; raw reads yield the per-span values.
_METRIC_EXPRESSIONS = (
    ("cost_usd", "cost_usd"),
    ("calls", "toUInt64(1)"),
    ("failed_calls", "toUInt64(NOT billable AND priced)"),
    ("unpriced_calls", "toUInt64(NOT priced)"),
    ("input_tokens", "input_tokens"),
    ("output_tokens", "output_tokens"),
    ("cached_tokens", "cache_read_tokens"),
)
METRIC_NAMES = ", ".join(name for name, _ in _METRIC_EXPRESSIONS)
SPAN_METRICS = ", ".join(f"{expr} AS {name}" for name, expr in _METRIC_EXPRESSIONS)
_SUMS = ", ".join(f"sum({expr})" for _, expr in _METRIC_EXPRESSIONS)
# A run's summary from its spans: refreshes store it in ``runs``; reads compute it for runs not refreshed yet.
RUN_SUMMARY = (
    "min(start_time) AS run_start, max(end_time) AS run_end, "
    "argMin(name, (parent_span_id != '', start_time)) AS root_name, argMin(service, start_time) AS run_service, "
    "sum(cost_usd) AS cost, countIf(is_llm) AS llm_calls, countIf(status_code = 'error') AS errors, "
    "argMax(section_path, cost_usd) AS top_section"
)


def dimensions_array(names: list[str]) -> str:
    """An ARRAY JOIN list of (dimension, its span column) for these dimension names."""
    column = dict(DIMENSIONS)
    return "[" + ", ".join(f"('{name}', {column[name]})" for name in names) + "]"


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class RollupTracker:
    """Marks buckets dirty after each write to ``spans``.

    In embedded mode the refresher runs in this process, so a bucket marked since the refresher
    last read the marks need not be marked again (one mark per bucket per refresh, not per insert).
    A ClickHouse server may have refreshers in other processes: there every write marks.
    """

    def __init__(self, client: Client, embedded: bool) -> None:
        self._client = client
        self._embedded = embedded
        self._lock = threading.Lock()
        self._marked: set[tuple[str, str, datetime]] = set()

    def note_insert(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        hours = pc.floor_temporal(table["start_time"], unit="hour")
        pairs = pa.table({"t": table["tenant"], "h": hours}).group_by(["t", "h"]).aggregate([])
        buckets: set[tuple[str, str, datetime]] = set()
        for tenant, hour in zip(pairs["t"].to_pylist(), pairs["h"].to_pylist()):
            hour = _utc(hour)
            buckets.add((tenant, HOUR, hour))
            buckets.add((tenant, DAY, hour.replace(hour=0)))
        self.mark(buckets)

    def mark(self, buckets: set[tuple[str, str, datetime]]) -> None:
        with self._lock:
            todo = buckets - self._marked if self._embedded else buckets
            if not todo:
                return
            self._client.command(
                "INSERT INTO rollup_state (tenant, grain, bucket, marked, done, version) "
                "SELECT b.1, b.2, b.3, toUInt64(toUnixTimestamp64Nano(now64(9))), 0, 0 "
                "FROM (SELECT arrayJoin({b:Array(Tuple(String, String, DateTime('UTC')))}) AS b)",
                parameters={"b": sorted(todo)},
            )
            self._marked |= todo

    def mark_all(self, tenant: str | None = None) -> None:
        """Mark every bucket that holds spans (after writing to ``spans`` behind the tracker's back)."""
        where = "WHERE tenant = {t:String}" if tenant is not None else ""
        with self._lock:
            self._client.command(MARK_EXISTING.format(where=where), parameters={"t": tenant})
            self._marked.clear()  # only ever makes later writes mark again

    def take_dirty(self, since_ns: int) -> tuple[int, list[tuple[str, str, datetime, int]]]:
        """The store's clock (ns) and the (tenant, grain, bucket, newest mark) of dirty buckets
        marked after ``since_ns``.

        Forgetting our marks and reading the state happen under one lock, so a write that skipped
        marking (its bucket was in ``_marked``) finished before this read and is covered by it."""
        with self._lock:
            self._marked.clear()
            rows = self._client.query(
                "SELECT tenant, grain, bucket, max(marked) AS m, toUInt64(toUnixTimestamp64Nano(now64(9))) "
                "FROM rollup_state WHERE (tenant, grain, bucket) IN (SELECT tenant, grain, bucket FROM rollup_state "
                "WHERE marked > {since:UInt64}) GROUP BY tenant, grain, bucket HAVING m > max(done) "
                "ORDER BY tenant, grain, bucket",
                parameters={"since": since_ns},
            ).result_rows
            now = (
                int(rows[0][4])
                if rows
                else int(self._client.query("SELECT toUInt64(toUnixTimestamp64Nano(now64(9)))").result_rows[0][0])
            )
        return now, [(t, g, _utc(b), int(m)) for t, g, b, m, _ in rows]


@dataclass(frozen=True, slots=True)
class BucketState:
    bucket: datetime
    dirty: bool
    version: int


def tenant_state(client: Client, tenant: str, grain: str, start: datetime, end: datetime) -> list[BucketState]:
    """Every bucket of ``grain`` in [start, end) that ever held spans of ``tenant``."""
    rows = client.query(
        "SELECT bucket, max(marked) > max(done), max(version) FROM rollup_state "
        "WHERE tenant = {t:String} AND grain = {g:String} AND bucket >= {s:DateTime('UTC')} AND bucket < {e:DateTime('UTC')} "
        "GROUP BY bucket ORDER BY bucket",
        parameters={"t": tenant, "g": grain, "s": start.replace(microsecond=0), "e": end},
    ).result_rows
    return [BucketState(_utc(b), bool(d), int(v)) for b, d, v in rows]


def _publish(client: Client, tenant: str, grain: str, done: dict[datetime, int], version: int) -> None:
    client.command(
        "INSERT INTO rollup_state (tenant, grain, bucket, marked, done, version) "
        "SELECT {t:String}, {g:String}, b.1, 0, b.2, {v:UInt64} "
        "FROM (SELECT arrayJoin({b:Array(Tuple(DateTime('UTC'), UInt64))}) AS b)",
        parameters={"t": tenant, "g": grain, "v": version, "b": sorted(done.items())},
    )


def refresh_hours(client: Client, tenant: str, marks: dict[datetime, int]) -> None:
    """Index the traces of these hours, recompute the per-dimension hourly rollup and the runs
    touching these hours (over all their indexed hours), then publish. The last hour of a trace to
    be refreshed sees all its other hours indexed, so every run summary ends up complete."""
    hours = sorted(marks)
    version = time.time_ns()
    params = {"t": tenant, "h": hours, "s": hours[0], "e": hours[-1] + timedelta(hours=1), "v": version}
    in_hours = (
        "tenant = {t:String} AND start_time >= {s:DateTime('UTC')} AND start_time < {e:DateTime('UTC')} "
        "AND toStartOfHour(start_time) IN {h:Array(DateTime('UTC'))}"
    )
    dims = dimensions_array([name for name, _ in DIMENSIONS])[:-1] + ", ('total', '')]"
    client.command(
        f"INSERT INTO cost_dims SELECT tenant, toStartOfHour(start_time) AS hour, d.1, d.2, {_SUMS}, {{v:UInt64}} "
        f"FROM spans FINAL ARRAY JOIN {dims} AS d WHERE {in_hours} AND is_llm "
        f"GROUP BY tenant, hour, d.1, d.2 {FINAL_SETTINGS}",
        parameters=params,
    )
    client.command(
        f"INSERT INTO trace_index SELECT DISTINCT tenant, trace_id, toStartOfHour(start_time) "
        f"FROM spans WHERE {in_hours}",
        parameters=params,
    )
    # Summarise runs in slices of ~_RUNS_SLICE spans, so a huge hour never aggregates in one go.
    count = int(client.query(f"SELECT count() FROM spans WHERE {in_hours}", parameters=params).result_rows[0][0])
    slices = max(1, -(-count // _RUNS_SLICE))
    params["slices"] = slices
    for part in range(slices):
        params["slice"] = part
        _refresh_runs(client, in_hours, params)
    _publish(client, tenant, HOUR, marks, version)


def _refresh_runs(client: Client, in_hours: str, params: dict[str, object]) -> None:
    traces = (
        f"(SELECT DISTINCT trace_id FROM spans WHERE {in_hours} "
        "AND cityHash64(trace_id) % {slices:UInt64} = {slice:UInt64})"
    )
    client.command(
        f"""INSERT INTO runs
        SELECT tenant, trace_id, {RUN_SUMMARY}, groupUniqArray(service), groupUniqArrayIf(customer, customer != ''),
               groupUniqArrayIf(session, session != ''), groupUniqArrayIf(agent, agent != ''), {{v:UInt64}}
        FROM spans FINAL
        WHERE tenant = {{t:String}} AND trace_id IN {traces}
          AND toStartOfHour(start_time) IN (SELECT hour FROM trace_index WHERE tenant = {{t:String}} AND trace_id IN {traces})
        GROUP BY tenant, trace_id {FINAL_SETTINGS}""",
        parameters=params,
    )


def refresh_days(client: Client, tenant: str, marks: dict[datetime, int]) -> None:
    """Recompute the all-dimension daily rollup of these days, then publish."""
    version = time.time_ns()
    for day, mark in sorted(marks.items()):
        client.command(
            f"INSERT INTO cost_daily2 SELECT tenant, toStartOfDay(start_time) AS day, {_DAILY_KEY}, {_SUMS}, "
            "{v:UInt64} FROM spans FINAL "
            "WHERE tenant = {t:String} AND is_llm AND start_time >= {s:DateTime('UTC')} AND start_time < {e:DateTime('UTC')} "
            f"GROUP BY tenant, day, {_DAILY_KEY} {FINAL_SETTINGS}",
            parameters={"t": tenant, "s": day, "e": day + timedelta(days=1), "v": version},
        )
        _publish(client, tenant, DAY, {day: mark}, version)
