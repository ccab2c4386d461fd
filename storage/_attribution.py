"""Attributing LLM spans from their ancestors. An LLM span that carries no agent (a third-party
instrumentation, another service) takes the agent and section of its nearest ancestor span that has
an agent. Any LLM span without a customer or session takes those of its nearest ancestors that have
them (an app sets ``user.id`` / ``session.id`` once, on the span around a framework's run).

Parents usually end, and so are exported, after their children, so the ancestor is often not
stored yet when the LLM span arrives. Traces with agent-less LLM spans are remembered (pending) and
looked at again whenever more of their spans arrive. Traces whose LLM spans lack only a customer or
session are remembered more cheaply: they are looked at again only when a later batch brings a span
of theirs that names what they lack. A span that gains labels is written again with a newer version
(ReplacingMergeTree keeps it instead of the old one; the rollups are marked dirty).

Limits (per server process, all tenants together): a trace is remembered for an hour, and while it
is among the newest 200,000 traces with agent-less LLM spans (pending), the newest 100,000 whose
LLM spans lack a customer or session, and the newest 100,000 with LLM spans (for reports nested
across exports). An ancestor that arrives later than that is stored but not inherited from.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from ._duplicates import DuplicateFinder
from ._spans import FINAL_SETTINGS, SPAN_COLUMNS, select_span_rows, spans_table

__all__ = ["Attribution", "inherit_labels", "price_innermost"]

_LABELS = ("agent", "customer", "section_path", "session")
_WITH_AGENT = ("agent", "section_path")  # inherited together, only by a span without an agent
_OWN = ("customer", "session")  # inherited by any LLM span that lacks them
_COSTS = ("cost_usd", "cost_input_usd", "cost_output_usd", "cost_cache_read_usd", "cost_cache_write_usd")
_INDEX = {
    name: SPAN_COLUMNS.index(name)
    for name in (
        "trace_id",
        "span_id",
        "parent_span_id",
        "is_llm",
        "operation",
        "version",
        "span_attributes",
        "price_source",
        *_LABELS,
        *_COSTS,
    )
}
_PRICED_BY = "llmobserve.priced_by"  # semconv's LLMOBSERVE_PRICED_BY (storage stands below semconv)
_NARROW = ("trace_id", "span_id", "parent_span_id", "is_llm", "operation", *_LABELS)
_TRACES_PER_TENANT = 2_000  # per pass: one tenant's flood of traces waits for later passes, not the others
_KEEP_S = 3600.0  # a trace whose ancestors never arrive is given up after an hour
_MAX_PENDING = 200_000
_MAX_LACKING = 100_000
_MAX_LLM_TRACES = 100_000
_MAX_QUEUED_ROWS = 500_000  # written rows waiting to be noted; past it the writer notes them itself
# the columns noting reads (the duplicate finder: ids, times and token counts of trace-root LLM spans)
_NOTED = (
    "tenant",
    "trace_id",
    "span_id",
    "parent_span_id",
    "is_llm",
    "agent",
    "customer",
    "session",
    "start_time",
    "end_time",
    "input_tokens",
    "output_tokens",
    "scope",
)
# _resolve's read: the label columns, and what the duplicate finder needs of LLM spans whose parent is missing
_NARROW_SQL = (
    *_NARROW,
    "toUnixTimestamp64Nano(start_time)",
    "toUnixTimestamp64Nano(end_time)",
    "input_tokens",
    "output_tokens",
    "scope",
)


class Attribution:
    """Remembers which recent traces to look at again, and looks at them in the maintenance pass.

    Every structure here costs O(1) amortised per written trace however long the server runs:
    the remembered maps are ordered by age (``OrderedDict``: the oldest leaves from the front in
    O(1), where a plain dict's front must be searched past every entry deleted before it), and
    the writer's thread only queues what it wrote; the maintenance pass does the bookkeeping."""

    def __init__(
        self, client: Client, write: Callable[[pa.Table], int], duplicates: DuplicateFinder | None = None
    ) -> None:
        self._client = client
        self._write = write
        self.duplicates = duplicates
        self._lock = threading.Lock()
        self._absorbing = threading.Lock()  # one absorber at a time, so the maps stay in age order
        self._queue: deque[pa.Table] = deque()  # written, not noted yet (only the columns noting reads)
        self._queued_rows = 0
        self._pending: OrderedDict[tuple[str, str], float] = OrderedDict()  # (tenant, trace) -> first seen
        # (tenant, trace) -> (first seen, labels its LLM spans lack)
        self._lacking: OrderedDict[tuple[str, str], tuple[float, frozenset[str]]] = OrderedDict()
        # (tenant, trace) -> first seen, for traces with LLM spans: a later LLM span of the trace may
        # report the same call as one stored (nested), so the trace is looked at again
        self._llm_traces: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._touched: set[tuple[str, str]] = set()
        self._recovered = False
        self.steps = 0
        """Entries the bookkeeping has examined or changed: what noting a batch costs, as a count."""

    @property
    def pending(self) -> int:
        self.absorb()
        return len(self._pending)

    def is_pending(self, tenant: str, trace: str) -> bool:
        """Whether the trace is remembered as waiting for an ancestor with an agent."""
        self.absorb()
        with self._lock:
            return (tenant, trace) in self._pending

    def note_insert(self, table: pa.Table) -> None:
        """Called after every write to ``spans``, on the writer's thread: only queue the batch (its
        acknowledgement does not wait for the bookkeeping). Should the maintenance pass fall far
        behind, the writer notes the backlog itself, so the queue stays bounded."""
        if not table.num_rows:
            return
        narrow = table.select(_NOTED)  # zero-copy: the batch's other columns are not kept alive
        with self._lock:
            self._queue.append(narrow)
            self._queued_rows += narrow.num_rows
            overflow = self._queued_rows > _MAX_QUEUED_ROWS
        if overflow:
            self.absorb()

    def absorb(self) -> None:
        """Note the queued writes: remember traces with unattributed LLM spans, and which remembered
        traces just gained spans (or a span naming a customer or session they lack)."""
        with self._absorbing:
            with self._lock:
                tables, self._queue, self._queued_rows = list(self._queue), deque(), 0
            for table in tables:  # one by one: a trace in two writes is a trace seen again (nesting)
                self._note(_per_trace(table))
                if self.duplicates is not None:
                    self.duplicates.note(table)

    def _note(self, traces: list[tuple[tuple[str, str], bool, bool, frozenset[str], frozenset[str]]]) -> None:
        with self._lock:
            now = time.monotonic()
            pending, lacking, llm_traces, touched = self._pending, self._lacking, self._llm_traces, self._touched
            for key, bare, llm, lacks, names in traces:
                if key in pending:
                    touched.add(key)
                if bare:
                    pending.setdefault(key, now)
                    touched.add(key)
                if lacks:  # an existing key keeps its place: insertion order stays age order
                    seen = lacking.get(key)
                    lacking[key] = (seen[0], seen[1] | lacks) if seen else (now, lacks)
                if names and (seen := lacking.get(key)) is not None and seen[1] & names:
                    touched.add(key)  # this batch's own spans too: writers other than the receiver
                if llm:
                    if key in llm_traces:
                        touched.add(key)
                    else:
                        llm_traces[key] = now
            self.steps += len(traces)
            self.steps += _forget_oldest(lacking, lambda seen: len(lacking) > _MAX_LACKING)
            self.steps += _forget_oldest(llm_traces, lambda seen: len(llm_traces) > _MAX_LLM_TRACES)
            self.steps += _forget_oldest(pending, lambda seen: len(pending) > _MAX_PENDING)

    def _recover(self) -> None:
        """After a restart: traces written in the last hour that still have unattributed LLM spans."""
        rows = self._client.query(
            "SELECT DISTINCT tenant, trace_id FROM spans WHERE is_llm AND agent = '' "
            "AND ingest_time > now64(3) - INTERVAL 1 HOUR"
        ).result_rows
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
        self.absorb()
        with self._lock:
            cutoff = time.monotonic() - _KEEP_S
            _forget_oldest(self._pending, lambda seen: seen < cutoff)
            _forget_oldest(self._lacking, lambda seen: seen[0] < cutoff)
            _forget_oldest(self._llm_traces, lambda seen: seen < cutoff)
            # A trace forgotten since it was touched is not looked at again (as if never touched):
            # this keeps the set within the maps' bounds however far passes fall behind.
            remembered = (self._pending, self._lacking, self._llm_traces)
            touched = {key for key in self._touched if any(key in held for held in remembered)}
            self._touched = set()
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
                rewritten += self._resolve(tenant, traces[i : i + 500])
        if self.duplicates is not None:
            rewritten += self.duplicates.run_once()
        return rewritten

    def _resolve(self, tenant: str, traces: list[str]) -> int:
        # Only the label columns of the traces: a trace of a million spans costs seven narrow
        # columns here, and full rows are read back only for the spans that gain labels.
        narrow = self._client.query(
            f"SELECT {', '.join(_NARROW_SQL)} FROM spans FINAL "
            f"WHERE tenant = {{t:String}} AND trace_id IN {{ids:Array(String)}} {FINAL_SETTINGS}",
            parameters={"t": tenant, "ids": traces},  # the trace_id bloom filter finds them
        ).result_rows
        by_trace: dict[str, dict[str, list[Any]]] = defaultdict(dict)
        usage: dict[tuple[str, str], tuple[Any, ...]] = {}  # start, end, input, output, scope
        for values in narrow:
            row: list[Any] = [None] * len(SPAN_COLUMNS)
            for name, value in zip(_NARROW, values):
                row[_INDEX[name]] = value
            by_trace[row[_INDEX["trace_id"]]][row[_INDEX["span_id"]]] = row
            usage[(row[_INDEX["trace_id"]], row[_INDEX["span_id"]])] = tuple(values[len(_NARROW) :])
        gains: dict[tuple[str, str], dict[str, str]] = {}
        settled = []
        for trace in traces:
            spans = by_trace.get(trace, {})
            waiting = False
            for row in spans.values():
                if not _wants(row):
                    continue
                found, later = _inherited(row, spans)
                waiting |= later
                if found:
                    gains[(trace, row[_INDEX["span_id"]])] = found
            for outer, inner in _nested_reports(spans).items():
                gains.setdefault((trace, outer), {})[_PRICED_BY] = inner
            if self.duplicates is not None:
                for span_id in _orphaned(spans):  # its parent is not here: its context may have been lost
                    self.duplicates.watch(tenant, trace, span_id, *usage[(trace, span_id)])
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
                    if name == _PRICED_BY:
                        _demote(row, value)
                    else:
                        row[_INDEX[name]] = value
                row[_INDEX["version"]] = max(version, row[_INDEX["version"]] + 1)
                changed.append(tuple(row))
        return changed


def _orphaned(spans: dict[str, list[Any]]) -> list[str]:
    """LLM spans of a trace made of LLM spans alone whose parent is not in it: a client's report of a
    call made where the caller's context did not reach (the duplicate finder looks for its twin)."""
    if not spans or not all(row[_INDEX["is_llm"]] for row in spans.values()):
        return []
    parent = _INDEX["parent_span_id"]  # trace roots are watched as they are written
    return [span_id for span_id, row in spans.items() if row[parent] and row[parent] not in spans]


def _nested_reports(spans: dict[str, list[Any]]) -> dict[str, str]:
    """LLM spans that have an LLM span below them -> that span. Both report the same call (a
    framework's span above a provider instrumentation's), or the outer one sums calls below it:
    either way only the innermost is priced. A span between them that names an operation of its
    own (a tool run, an agent) separates two calls: the search stops there."""
    out: dict[str, str] = {}
    for span_id, row in spans.items():
        if not row[_INDEX["is_llm"]]:
            continue
        seen = {span_id}
        parent = row[_INDEX["parent_span_id"]]
        while parent and parent not in seen:
            ancestor = spans.get(parent)
            if ancestor is None:
                break
            if ancestor[_INDEX["is_llm"]]:
                out.setdefault(parent, span_id)
                break
            if ancestor[_INDEX["operation"]]:
                break
            seen.add(parent)
            parent = ancestor[_INDEX["parent_span_id"]]
    return out


def _demote(row: list[Any], inner: str) -> None:
    """Make ``row`` a span that is not priced: the call it reports is priced on span ``inner``."""
    if not row[_INDEX["is_llm"]]:
        return
    row[_INDEX["is_llm"]] = False
    for name in _COSTS:
        row[_INDEX[name]] = Decimal(0)
    row[_INDEX["price_source"]] = ""
    row[_INDEX["span_attributes"]] = [*row[_INDEX["span_attributes"]], (_PRICED_BY, inner)]


def price_innermost(rows: list[Any]) -> list[Any]:
    """Within one batch: an LLM span with an LLM span below it is not priced (see ``_nested_reports``).
    Nesting across batches is the background pass's job."""
    is_llm, span_id, parent_id, operation = (_INDEX[c] for c in ("is_llm", "span_id", "parent_span_id", "operation"))
    # Cheap first: an LLM span can only be below another if its parent is an LLM span or a span
    # without an operation of its own (agent and tool parents, the usual case, end the search).
    reach = {row[span_id] for row in rows if row[is_llm] or not row[operation]}
    if not any(row[is_llm] and row[parent_id] in reach for row in rows):
        return rows
    by_trace: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in rows:
        by_trace[row[_INDEX["trace_id"]]][row[span_id]] = row
    demoted: dict[tuple[str, str], str] = {}
    for trace, spans in by_trace.items():
        for outer, inner in _nested_reports(spans).items():
            demoted[(trace, outer)] = inner
    if not demoted:
        return rows
    out = []
    for row in rows:
        priced_by = demoted.get((row[_INDEX["trace_id"]], row[_INDEX["span_id"]]))
        if priced_by is not None:
            values = list(row)
            _demote(values, priced_by)
            row = tuple(values)
        out.append(row)
    return out


def inherit_labels(rows: list[Any]) -> list[Any]:
    """Within one batch (an export request): LLM spans without an agent take the labels of their
    nearest ancestors in the same batch, so a trace exported whole is attributed before it is
    stored. Ancestors from other batches are the background pass's job."""
    if not any(_wants(row) for row in rows):
        return rows
    by_trace: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in rows:
        by_trace[row[_INDEX["trace_id"]]][row[_INDEX["span_id"]]] = row
    out = []
    for row in rows:
        if _wants(row):
            found, _ = _inherited(row, by_trace[row[_INDEX["trace_id"]]])
            if found:
                values = list(row)
                for name, value in found.items():
                    values[_INDEX[name]] = value
                row = tuple(values)
        out.append(row)
    return out


def _wants(row: Any) -> bool:
    """An LLM span that may inherit: it lacks an agent, a customer or a session."""
    return bool(row[_INDEX["is_llm"]]) and not (
        row[_INDEX["agent"]] and row[_INDEX["customer"]] and row[_INDEX["session"]]
    )


def _forget_oldest(remembered: OrderedDict[Any, Any], stale: Callable[[Any], bool]) -> int:
    """Drop entries from the front (the oldest) while ``stale(value)``; returns how many. O(1) each:
    an ``OrderedDict`` finds its front at once, where a plain dict scans past every slot deleted
    before it until it next resizes (measured: 5x slower noting per insert after 1.6M spans)."""
    dropped = 0
    while remembered and stale(next(iter(remembered.values()))):
        remembered.popitem(last=False)
        dropped += 1
    return dropped


_NONE: frozenset[str] = frozenset()
_CUSTOMER, _SESSION, _BOTH = frozenset({"customer"}), frozenset({"session"}), frozenset(_OWN)


def _per_trace(table: pa.Table) -> list[tuple[tuple[str, str], bool, bool, frozenset[str], frozenset[str]]]:
    """Per (tenant, trace) of a written batch: whether it has agent-less LLM spans, LLM spans at all,
    the customer/session labels its LLM spans lack, and those its spans name. One Arrow group-by, so
    Python sees each trace once, not each span (this runs after every insert)."""
    llm = table["is_llm"]
    flags = (
        pa.table(
            {
                "t": table["tenant"],
                "tr": table["trace_id"],
                "llm": llm,
                "bare": pc.and_(llm, pc.equal(table["agent"], "")),
                "lc": pc.and_(llm, pc.equal(table["customer"], "")),
                "ls": pc.and_(llm, pc.equal(table["session"], "")),
                "nc": pc.not_equal(table["customer"], ""),
                "ns": pc.not_equal(table["session"], ""),
            }
        )
        .group_by(["t", "tr"])
        .aggregate([(c, "any") for c in ("llm", "bare", "lc", "ls", "nc", "ns")])
    )
    labels = (_NONE, _SESSION, _CUSTOMER, _BOTH)
    return [
        ((t, tr), bare, llm_any, labels[lc * 2 + ls], labels[nc * 2 + ns])
        for t, tr, llm_any, bare, lc, ls, nc, ns in zip(
            *(flags[c].to_pylist() for c in ("t", "tr", "llm_any", "bare_any", "lc_any", "ls_any", "nc_any", "ns_any"))
        )
    ]


def _inherited(row: list[Any], spans: dict[str, list[Any]]) -> tuple[dict[str, str], bool]:
    """Labels ``row`` lacks that its nearest ancestors carry, and whether to look again later: it
    has no agent, an ancestor is not stored yet and no agent was found below it.

    Each label comes from the nearest ancestor that has it. Agent and section go only to a span
    without an agent, and only once an agent is found (a span's own agent and its section path must
    agree); customer and session go to any span that lacks them."""
    missing = {name for name in _LABELS if not row[_INDEX[name]]}
    own_section = row[_INDEX["section_path"]]
    relative = bool(own_section) and not own_section.startswith("agent:")  # e.g. LangGraph's "node:<n>"
    if row[_INDEX["agent"]]:
        missing -= set(_WITH_AGENT)
        relative = False
    found: dict[str, str] = {}
    agent_section = ""  # the nearest ancestor section that names an agent: where a relative one hangs
    seen = {row[_INDEX["span_id"]]}
    parent = row[_INDEX["parent_span_id"]]
    while parent and (missing or (relative and not agent_section)):
        ancestor = spans.get(parent)
        if ancestor is None:
            break
        for name in list(missing):
            if ancestor[_INDEX[name]]:
                found[name] = ancestor[_INDEX[name]]
                missing.discard(name)
        if relative and not agent_section and ancestor[_INDEX["section_path"]].startswith("agent:"):
            agent_section = ancestor[_INDEX["section_path"]]
        seen.add(parent)
        parent = ancestor[_INDEX["parent_span_id"]]
        if parent in seen:  # a cycle in bad data
            parent = ""
    if "agent" not in found:
        for name in _WITH_AGENT:
            found.pop(name, None)
    elif relative:
        found["section_path"] = f"{agent_section or 'agent:' + found['agent']}/{own_section}"
    return found, bool(parent) and "agent" in missing
