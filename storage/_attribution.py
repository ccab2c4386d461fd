"""Attributing foreign LLM spans: an LLM span that carries no agent (a third-party instrumentation,
another service) takes the agent of its nearest ancestor span that has one, and the customer and
section of its nearest ancestors that have those, when it has none itself.

Parents usually end, and so are exported, after their children, so the ancestor is often not
stored yet when the LLM span arrives. Traces with unattributed LLM spans are remembered and looked
at again whenever more of their spans arrive; a span that gains labels is written again with a
newer version (ReplacingMergeTree keeps it instead of the old one; the rollups are marked dirty).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from ._spans import FINAL_SETTINGS, SPAN_COLUMNS, select_span_rows, spans_table

__all__ = ["Attribution", "inherit_labels"]

_LABELS = ("agent", "customer", "section_path")
_INDEX = {name: SPAN_COLUMNS.index(name)
          for name in ("trace_id", "span_id", "parent_span_id", "is_llm", "version", *_LABELS)}
_NARROW = ("trace_id", "span_id", "parent_span_id", "is_llm", *_LABELS)
_TRACES_PER_TENANT = 2_000  # per pass: one tenant's flood of traces waits for later passes, not the others
_KEEP_S = 3600.0  # a trace whose ancestors never arrive is given up after an hour
_MAX_PENDING = 200_000


class Attribution:
    def __init__(self, client: Client, write: Callable[[pa.Table], int]) -> None:
        self._client = client
        self._write = write
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], float] = {}  # (tenant, trace) -> first seen
        self._touched: set[tuple[str, str]] = set()
        self._recovered = False

    @property
    def pending(self) -> int:
        return len(self._pending)

    def note_insert(self, table: pa.Table) -> None:
        """Called after every write to ``spans``: remember traces with unattributed LLM spans, and
        which remembered traces just gained spans."""
        if not table.num_rows:
            return
        bare = table.filter(pc.and_(table["is_llm"], pc.equal(table["agent"], "")))
        new = set(zip(bare["tenant"].to_pylist(), bare["trace_id"].to_pylist())) if bare.num_rows else set()
        with self._lock:
            if self._pending:
                batch = set(zip(table["tenant"].to_pylist(), table["trace_id"].to_pylist()))
                self._touched |= batch & self._pending.keys()
            now = time.monotonic()
            for key in new:
                self._pending.setdefault(key, now)
            self._touched |= new

    def _recover(self) -> None:
        """After a restart: traces written in the last hour that still have unattributed LLM spans."""
        rows = self._client.query(
            "SELECT DISTINCT tenant, trace_id FROM spans WHERE is_llm AND agent = '' "
            "AND ingest_time > now64(3) - INTERVAL 1 HOUR").result_rows
        now = time.monotonic()
        with self._lock:
            for tenant, trace in rows:
                self._pending.setdefault((tenant, trace), now)
                self._touched.add((tenant, trace))
        self._recovered = True

    def run_once(self) -> int:
        """Resolve the touched traces; returns how many spans were re-written."""
        if not self._recovered:
            self._recover()
        with self._lock:
            touched, self._touched = self._touched, set()
            cutoff = time.monotonic() - _KEEP_S
            if len(self._pending) > _MAX_PENDING or any(t < cutoff for t in self._pending.values()):
                keep = sorted(self._pending.items(), key=lambda kv: kv[1])[-_MAX_PENDING:]
                self._pending = {k: t for k, t in keep if t >= cutoff}
        by_tenant: dict[str, list[str]] = defaultdict(list)
        for tenant, trace in touched:
            by_tenant[tenant].append(trace)
        for tenant, traces in by_tenant.items():
            if len(traces) > _TRACES_PER_TENANT:
                with self._lock:
                    self._touched |= {(tenant, trace) for trace in traces[_TRACES_PER_TENANT:]}
                del traces[_TRACES_PER_TENANT:]
        rewritten = 0
        for tenant, traces in by_tenant.items():
            for i in range(0, len(traces), 500):
                rewritten += self._resolve(tenant, traces[i:i + 500])
        return rewritten

    def _resolve(self, tenant: str, traces: list[str]) -> int:
        # Only the label columns of the traces: a trace of a million spans costs seven narrow
        # columns here, and full rows are read back only for the spans that gain labels.
        narrow = self._client.query(
            f"SELECT {', '.join(_NARROW)} FROM spans FINAL "
            f"WHERE tenant = {{t:String}} AND trace_id IN {{ids:Array(String)}} {FINAL_SETTINGS}",
            parameters={"t": tenant, "ids": traces},  # the trace_id bloom filter finds them
        ).result_rows
        by_trace: dict[str, dict[str, list[Any]]] = defaultdict(dict)
        for values in narrow:
            row: list[Any] = [None] * len(SPAN_COLUMNS)
            for name, value in zip(_NARROW, values):
                row[_INDEX[name]] = value
            by_trace[row[_INDEX["trace_id"]]][row[_INDEX["span_id"]]] = row
        gains: dict[tuple[str, str], dict[str, str]] = {}
        settled = []
        for trace in traces:
            spans = by_trace.get(trace, {})
            waiting = False
            for row in spans.values():
                if not row[_INDEX["is_llm"]] or row[_INDEX["agent"]]:
                    continue
                found, later = _inherited(row, spans)
                waiting |= later
                if found:
                    gains[(trace, row[_INDEX["span_id"]])] = found
            if not waiting:
                settled.append(trace)
        if gains:
            self._write(spans_table(self._relabelled(tenant, gains)))
        with self._lock:
            for trace in settled:
                self._pending.pop((tenant, trace), None)
        return len(gains)

    def _relabelled(self, tenant: str, gains: dict[tuple[str, str], dict[str, str]]) -> list[tuple[Any, ...]]:
        rows = select_span_rows(
            self._client,
            "tenant = {t:String} AND trace_id IN {ids:Array(String)} AND span_id IN {sids:Array(String)}",
            {"t": tenant, "ids": sorted({t for t, _ in gains}), "sids": sorted({s for _, s in gains})},
        )
        version = time.time_ns()
        changed = []
        for row in rows:
            found = gains.get((row[_INDEX["trace_id"]], row[_INDEX["span_id"]]))
            if found:
                for name, value in found.items():
                    row[_INDEX[name]] = value
                row[_INDEX["version"]] = max(version, row[_INDEX["version"]] + 1)
                changed.append(tuple(row))
        return changed


def inherit_labels(rows: list[Any]) -> list[Any]:
    """Within one batch (an export request): LLM spans without an agent take the labels of their
    nearest ancestors in the same batch, so a trace exported whole is attributed before it is
    stored. Ancestors from other batches are the background pass's job."""
    if not any(row[_INDEX["is_llm"]] and not row[_INDEX["agent"]] for row in rows):
        return rows
    by_trace: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in rows:
        by_trace[row[_INDEX["trace_id"]]][row[_INDEX["span_id"]]] = row
    out = []
    for row in rows:
        if row[_INDEX["is_llm"]] and not row[_INDEX["agent"]]:
            found, _ = _inherited(row, by_trace[row[_INDEX["trace_id"]]])
            if found:
                values = list(row)
                for name, value in found.items():
                    values[_INDEX[name]] = value
                row = tuple(values)
        out.append(row)
    return out


def _inherited(row: list[Any], spans: dict[str, list[Any]]) -> tuple[dict[str, str], bool]:
    """Labels ``row`` lacks that its nearest ancestors carry (only if one of them is an agent), and
    whether to look again later: an ancestor is not stored yet and no agent was found below it."""
    missing = {name for name in _LABELS if not row[_INDEX[name]]}
    found: dict[str, str] = {}
    seen = {row[_INDEX["span_id"]]}
    parent = row[_INDEX["parent_span_id"]]
    while parent and missing:
        ancestor = spans.get(parent)
        if ancestor is None:
            return ({} if "agent" in missing else found), "agent" in missing
        for name in list(missing):
            if ancestor[_INDEX[name]]:
                found[name] = ancestor[_INDEX[name]]
                missing.discard(name)
        seen.add(parent)
        parent = ancestor[_INDEX["parent_span_id"]]
        if parent in seen:  # a cycle in bad data
            break
    return (found if "agent" in found else {}), False
