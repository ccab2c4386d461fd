"""One model call reported twice, in two traces: charge it once.

Two instrumentations tracing one app (a framework's own, which makes an LLM span per call, and the
provider client's) both report each call. When the framework runs the call on a thread its context
did not reach, the client's span starts a trace of its own: nesting cannot tell they are one call
(``_attribution.price_innermost`` does when they nest), so both were charged.

Evidence required, all of it (``same_call``), between an LLM span that roots its trace and an LLM
span of another trace of the same tenant:
- the same service, and the same value for every resource attribute both carry (one process);
- different instrumentation scopes (two instrumentations: one instrumentation reports a call once);
- the same model once dates and version suffixes are set aside (``gpt-4o-mini`` and
  ``gpt-4o-mini-2024-07-18``), and the same provider where both name one;
- equal input and output tokens (above zero), and equal cache-read, cache-write and reasoning
  tokens where both report them (a framework may leave one out);
- one's interval within the other's (the client's request happens inside the framework's call);
- equal response ids where both carry one (different ids: two calls, whatever else agrees).
Each report pairs with at most one other. The report kept is the one in the richer trace (more of
agent, customer and session), else the one that started first; the other is marked
``llmobserve.duplicate_of = <trace id>/<span id>``, costs 0 and is no LLM call any more (so no
breakdown, run total, cap or export counts it), and both stay visible in their traces.
"""

from __future__ import annotations

import re
import threading
import time
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from ._spans import FINAL_SETTINGS, SPAN_COLUMNS, select_span_rows, spans_table

__all__ = [
    "DUPLICATE_CAUSE",
    "DUPLICATE_OF",
    "DuplicateFinder",
    "Report",
    "duplicate_days",
    "demote_duplicate",
    "mark_duplicates",
    "pair_duplicates",
]

DUPLICATE_OF = "llmobserve.duplicate_of"  # semconv's LLMOBSERVE_DUPLICATE_OF (storage stands below semconv)
DUPLICATE_CAUSE = "llmobserve.duplicate.cause"  # semconv's LLMOBSERVE_DUPLICATE_CAUSE
CAUSE = "two instrumentations, context lost between them"
_RESPONSE_ID = "gen_ai.response.id"  # semconv's GEN_AI_RESPONSE_ID
_COSTS = ("cost_usd", "cost_input_usd", "cost_output_usd", "cost_cache_read_usd", "cost_cache_write_usd")
_I = {name: i for i, name in enumerate(SPAN_COLUMNS)}
# A date or version at the end of a model name: -2024-07-18, -20241022, @20240620, -0613
_SUFFIX = re.compile(r"(?:[-@]\d{4}-\d{2}-\d{2}|[-@]\d{8}|-\d{4})$")
_LABELS = ("agent", "customer", "session")


def model_family(model: str) -> str:
    name = model.strip().lower()
    name = name.rsplit("/", 1)[-1]  # "openai/gpt-4o", "models/gemini-1.5-pro"
    return _SUFFIX.sub("", name)


@dataclass(frozen=True, slots=True)
class Report:
    """What the evidence reads of one stored (or about to be stored) LLM span."""

    trace_id: str
    span_id: str
    root: bool
    start: int
    end: int
    service: str
    scope: str
    provider: str
    family: str
    usage: tuple[int, int, int, int, int]  # input, output, cache read, cache write, reasoning
    response_id: str
    resource: tuple[tuple[str, str], ...]
    richness: int

    @classmethod
    def of(cls, row: Sequence[Any]) -> Report:
        attributes = dict(row[_I["span_attributes"]])
        return cls(
            row[_I["trace_id"]],
            row[_I["span_id"]],
            not row[_I["parent_span_id"]],
            int(row[_I["start_time"]]),
            int(row[_I["end_time"]]),
            row[_I["service"]],
            row[_I["scope"]],
            "" if row[_I["provider"]] in ("", "unknown") else row[_I["provider"]],
            model_family(row[_I["model"]]),
            tuple(int(row[_I[name]]) for name in _USAGE),  # type: ignore[arg-type]  # five counts, by _USAGE
            str(attributes.get(_RESPONSE_ID, "")),
            tuple(sorted(dict(row[_I["resource_attributes"]]).items())),
            sum(1 for name in _LABELS if row[_I[name]]),
        )

    @classmethod
    def read(cls, fields: Sequence[Any]) -> Report:
        """From a check's read (``_REPORT_COLUMNS`` but the last two)."""
        trace, span, root, start, end, service, scope, provider, model, *counts, response_id, resource, rich = fields
        return cls(
            trace,
            span,
            bool(root),
            int(start),
            int(end),
            service,
            scope,
            "" if provider in ("", "unknown") else provider,
            model_family(model),
            tuple(int(c) for c in counts),  # type: ignore[arg-type]  # the five counts, in _USAGE order
            response_id,
            tuple(sorted(dict(resource).items())),
            int(rich),
        )

    @property
    def key(self) -> tuple[str, str, int, int]:
        """What two reports of one call always share: a cheap first sieve."""
        return self.service, self.family, self.usage[0], self.usage[1]

    @property
    def ident(self) -> str:
        return f"{self.trace_id}/{self.span_id}"


_USAGE = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")


def same_call(a: Report, b: Report) -> bool:
    """Whether ``a`` and ``b`` report one model call (the module docstring's evidence, all of it)."""
    if a.trace_id == b.trace_id or not (a.root or b.root) or a.scope == b.scope:
        return False
    if a.key != b.key or a.usage[0] <= 0 or a.usage[1] <= 0:
        return False
    if a.provider and b.provider and a.provider != b.provider:
        return False
    if any(x and y and x != y for x, y in zip(a.usage[2:], b.usage[2:])):
        return False
    if a.response_id and b.response_id and a.response_id != b.response_id:
        return False
    inside = (b.start <= a.start and a.end <= b.end) or (a.start <= b.start and b.end <= a.end)
    if not inside:
        return False
    theirs = dict(b.resource)
    return all(theirs.get(name, value) == value for name, value in a.resource)


def _kept_first(a: Report, b: Report) -> tuple[Report, Report]:
    """(kept, marked): the richer trace's report, else the one that started first, else the smaller id."""
    order = sorted((a, b), key=lambda r: (-r.richness, r.start, r.trace_id, r.span_id))
    return order[0], order[1]


# Candidates looked at per report and per other scope, nearest in time first: identical calls by the
# thousand (a script classifying with one prompt) cost a bounded amount each.
_NEAREST = 64


def pair_duplicates(
    candidates: Iterable[Report], new: Iterable[Report], taken: Iterable[str] = ()
) -> list[tuple[Report, Report]]:
    """(kept, marked) pairs among ``candidates`` for the reports in ``new`` (each report in one pair at
    most). ``new`` are the reports not looked at before; ``candidates`` may include them; ``taken``
    are the ids of reports already paired (a kept report absorbs one duplicate, never two)."""
    # key -> scope -> reports by start: only another scope's reports, starting near, can match
    index: dict[tuple[str, str, int, int], dict[str, list[Report]]] = {}
    for report in candidates:
        index.setdefault(report.key, {}).setdefault(report.scope, []).append(report)
    starts: dict[tuple[tuple[str, str, int, int], str], list[int]] = {}
    for key, scopes in index.items():
        for scope, reports in scopes.items():
            reports.sort(key=lambda r: r.start)
            starts[(key, scope)] = [r.start for r in reports]
    taken = set(taken)
    pairs = []
    # Deterministic whatever the arrival order: earliest first, and the tightest match for each.
    for report in sorted(new, key=lambda r: (r.start, r.trace_id, r.span_id)):
        if report.ident in taken:
            continue
        matches = []
        for scope, reports in index.get(report.key, {}).items():
            if scope == report.scope:
                continue
            times = starts[(report.key, scope)]
            # the other starts between the window before this one and this one's end
            low, high = bisect_left(times, report.start - _WINDOW_NS), bisect_right(times, report.end)
            nearest = _nearest(times, low, high, report.start, _NEAREST)
            matches += [
                other
                for other in (reports[i] for i in nearest)
                if other.ident not in taken and same_call(report, other)
            ]
        if not matches:
            continue
        other = min(matches, key=lambda o: (abs((o.end - o.start) - (report.end - report.start)), o.start, o.ident))
        kept, marked = _kept_first(report, other)
        taken |= {kept.ident, marked.ident}
        pairs.append((kept, marked))
    return pairs


def _nearest(times: list[int], low: int, high: int, at: int, n: int) -> list[int]:
    """Up to ``n`` indexes in ``times[low:high]`` (sorted), nearest to ``at`` first; O(n log size)."""
    right = min(max(bisect_left(times, at, low, high), low), high)
    left = right - 1
    out: list[int] = []
    while len(out) < n and (left >= low or right < high):
        if right >= high or (left >= low and at - times[left] <= times[right] - at):
            out.append(left)
            left -= 1
        else:
            out.append(right)
            right += 1
    return out


def demote_duplicate(row: list[Any], kept: str) -> None:
    """Make ``row`` a report of a call charged on span ``kept`` (``<trace>/<span>``): cost 0, no LLM call."""
    row[_I["is_llm"]] = False
    for name in _COSTS:
        row[_I[name]] = Decimal(0)
    row[_I["price_source"]] = ""
    attributes = [(k, v) for k, v in row[_I["span_attributes"]] if k not in (DUPLICATE_OF, DUPLICATE_CAUSE)]
    row[_I["span_attributes"]] = [*attributes, (DUPLICATE_OF, kept), (DUPLICATE_CAUSE, CAUSE)]


def mark_duplicates(rows: list[Any]) -> list[Any]:
    """Within one batch (an export request): both reports of a call in it are settled before they
    are stored, so neither is ever charged twice. Pairs across batches are the background pass's."""
    is_llm, parent, scope = _I["is_llm"], _I["parent_span_id"], _I["scope"]
    if not any(row[is_llm] and not row[parent] for row in rows):  # no root LLM span: the usual batch
        return rows
    if len({row[scope] for row in rows if row[is_llm]}) < 2:  # one instrumentation reports a call once
        return rows
    reports = [(i, Report.of(row)) for i, row in enumerate(rows) if row[is_llm]]
    if len(reports) < 2:
        return rows
    index = {report.ident: i for i, report in reports}
    out = list(rows)
    for kept, marked in pair_duplicates([r for _, r in reports], [r for _, r in reports if r.root]):
        values = list(out[index[marked.ident]])
        demote_duplicate(values, kept.ident)
        out[index[marked.ident]] = tuple(values)
    return out


# When a report that may be a duplicate is looked at again, in seconds after it was first noted: the
# other report usually comes in the same export or the next (an SDK exports every few seconds).
CHECKS_S = (0.0, 15.0, 120.0)
_WINDOW_NS = 600 * 10**9  # the report that holds the other one started at most 10 minutes before it
_MAX_WATCHED = 50_000  # reports waiting for a check, all tenants; the oldest are let go first
_PER_PASS = 5_000  # checks per maintenance pass; the rest wait for the next one
_MAX_READ = 200_000  # spans one check reads at most
# what a check reads of each span: Report.read's fields, then is_llm and the report it duplicates
_REPORT_COLUMNS = (
    "trace_id, span_id, parent_span_id = '', toUnixTimestamp64Nano(start_time), toUnixTimestamp64Nano(end_time), "
    "service, scope, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
    "reasoning_tokens, span_attributes[{rid:String}], resource_attributes, "
    "(agent != '') + (customer != '') + (session != ''), is_llm, span_attributes[{of:String}]"
)


@dataclass(frozen=True, slots=True)
class _Watch:
    first_seen: float
    start: int
    end: int
    usage: tuple[int, int]
    scope: str


class DuplicateFinder:
    """Looks for the other report of each trace-root LLM span written (and of each LLM span whose
    parent never arrived), at its first maintenance pass, 15 s and 2 minutes later, and at once when
    an LLM span with its token counts is written: the other report may come before or after it, in
    another export. One storage read per tenant per pass, for the spans of that tenant in the
    reports' time window that share their token counts."""

    def __init__(
        self,
        client: Client,
        write: Callable[[pa.Table], int],
        withdraw: Callable[[pa.Table], None],
        detect: Callable[[str], bool],
    ) -> None:
        self._client = client
        self._write = write
        self._withdraw = withdraw
        self._detect = detect
        self._lock = threading.Lock()
        # one queue per check, in the order reports were first seen: the front is always due first
        self._stages: list[OrderedDict[tuple[str, str, str], _Watch]] = [OrderedDict() for _ in CHECKS_S]
        self._now: dict[tuple[str, str, str], tuple[int, _Watch]] = {}  # checked at the next pass
        # (tenant, input, output) -> scope -> the watched reports with these counts
        self._by_usage: dict[tuple[str, int, int], dict[str, set[tuple[str, str, str]]]] = {}
        self.found = 0

    @property
    def watched(self) -> int:
        return sum(len(stage) for stage in self._stages) + len(self._now)

    def note(self, table: pa.Table) -> None:
        """A written batch (noting's columns, see ``Attribution``): watch its trace-root LLM spans, and
        look again at once at the watched ones that its LLM spans may be the other report of."""
        if self._by_usage:
            llm = table.filter(table["is_llm"])
            columns = ("tenant", "input_tokens", "output_tokens", "scope")
            with self._lock:
                for tenant, inp, out, scope in set(zip(*(llm[c].to_pylist() for c in columns))):
                    # only another scope's reports can be the twin of this one
                    for other, keys in self._by_usage.get((tenant, inp, out), {}).items():
                        if other != scope:
                            self._expedite(keys)
        roots = table.filter(pc.and_(table["is_llm"], pc.equal(table["parent_span_id"], "")))
        if not roots.num_rows:
            return
        read = [roots[c] for c in ("tenant", "trace_id", "span_id", "input_tokens", "output_tokens", "scope")]
        times = [roots[c].cast(pa.int64()) for c in ("start_time", "end_time")]  # ns, exactly
        for tenant, trace, span, inp, out, scope, start, end in zip(*(c.to_pylist() for c in (*read, *times))):
            self.watch(tenant, trace, span, start, end, inp, out, scope)

    def watch(self, tenant: str, trace: str, span: str, start: int, end: int, inp: int, out: int, scope: str) -> None:
        if inp <= 0 or out <= 0:  # nothing to charge twice
            return
        with self._lock:
            key = (tenant, trace, span)
            if key in self._now or any(key in stage for stage in self._stages):
                return
            self._stages[0][key] = _Watch(time.monotonic(), start, end, (inp, out), scope)
            self._by_usage.setdefault((tenant, inp, out), {}).setdefault(scope, set()).add(key)
            while self.watched > _MAX_WATCHED:
                fullest = max(self._stages, key=lambda stage: len(stage))
                dropped, watch = fullest.popitem(last=False)
                self._unindex(dropped, watch)

    def _expedite(self, keys: set[tuple[str, str, str]]) -> None:
        """Check these at the next pass (as many as one pass checks, at most)."""
        for key in list(keys)[: max(0, _PER_PASS - len(self._now))]:
            for stage, queue in enumerate(self._stages):
                if key in queue:
                    self._now[key] = (stage, queue.pop(key))
                    break

    def _unindex(self, key: tuple[str, str, str], watch: _Watch) -> None:
        usage = (key[0], *watch.usage)
        scopes = self._by_usage.get(usage, {})
        keys = scopes.get(watch.scope)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del scopes[watch.scope]
            if not scopes:
                self._by_usage.pop(usage, None)

    def run_once(self) -> int:
        """Check the reports due; returns how many duplicates were marked."""
        due = self._due()
        marked = 0
        by_tenant: dict[str, dict[tuple[str, str], tuple[int, _Watch]]] = {}
        for (tenant, trace, span), (stage, watch) in due.items():
            by_tenant.setdefault(tenant, {})[(trace, span)] = (stage, watch)
        for tenant, watched in by_tenant.items():
            found, unmatched = 0, set(watched)
            try:
                if self._detect(tenant):
                    found, unmatched = self._check(tenant, watched)
                else:
                    unmatched = set()  # the tenant turned detection off: let them go
            except Exception:  # storage down: look again at the next check
                pass
            marked += found
            with self._lock:
                for trace, span in watched:
                    stage, watch = watched[(trace, span)]
                    key = (tenant, trace, span)
                    if (trace, span) in unmatched and stage + 1 < len(CHECKS_S):
                        self._stages[stage + 1][key] = watch
                    else:
                        self._unindex(key, watch)
        self.found += marked
        return marked

    def _due(self) -> dict[tuple[str, str, str], tuple[int, _Watch]]:
        now = time.monotonic()
        with self._lock:
            due, self._now = self._now, {}
            for stage, (queue, delay) in enumerate(zip(self._stages, CHECKS_S)):
                while queue and len(due) < _PER_PASS and now - next(iter(queue.values())).first_seen >= delay:
                    key, watch = queue.popitem(last=False)
                    due[key] = (stage, watch)
        return due

    def _check(
        self, tenant: str, watched: dict[tuple[str, str], tuple[int, _Watch]]
    ) -> tuple[int, set[tuple[str, str]]]:
        """Mark what pairs; returns how many were marked and the watched reports left unpaired."""
        by_scope: dict[str, list[_Watch]] = {}
        for _, watch in watched.values():
            by_scope.setdefault(watch.scope, []).append(watch)
        # Only another instrumentation's report can be the other one: read, per scope watched (one,
        # usually), the other scopes' spans with the same counts. Mostly there are none, and the
        # watched reports themselves are not read at all.
        found: dict[tuple[str, str], Sequence[Any]] = {}
        for scope, watches in by_scope.items():
            where = (
                "start_time >= fromUnixTimestamp64Nano({lo:Int64}, 'UTC') "
                "AND start_time <= fromUnixTimestamp64Nano({hi:Int64}, 'UTC') "
                "AND (input_tokens, output_tokens) IN {pairs:Array(Tuple(UInt64, UInt64))} AND scope != {scope:String}"
            )
            bounds = {
                "lo": min(w.start for w in watches) - _WINDOW_NS,
                "hi": max(w.end for w in watches),
                "pairs": sorted({w.usage for w in watches}),
                "scope": scope,
            }
            for values in self._reports(tenant, where, bounds):
                found[(values[0], values[1])] = values
        if not found:
            return 0, set(watched)
        usages = {(int(v[9]), int(v[10])) for v in found.values()}
        ids = sorted(key for key, (_, w) in watched.items() if w.usage in usages and key not in found)
        if ids:
            where = "(trace_id, span_id) IN {ids:Array(Tuple(String, String))}"
            for values in self._reports(tenant, where, {"ids": ids}):
                found[(values[0], values[1])] = values
        taken = set()
        reports = []
        for values in found.values():
            *fields, is_llm, duplicate_of = values
            if not is_llm:  # a report already marked, and the one it names: both are paired
                taken |= {duplicate_of, f"{fields[0]}/{fields[1]}"}
                continue
            reports.append(Report.read(fields))
        new = [r for r in reports if (r.trace_id, r.span_id) in watched]
        pairs = pair_duplicates(reports, new, taken)
        if pairs:
            kept_for = {(m.trace_id, m.span_id): k.ident for k, m in pairs}
            rows = select_span_rows(  # full rows of the reports to mark only
                self._client,
                "tenant = {t:String} AND trace_id IN {tr:Array(String)} AND span_id IN {sp:Array(String)}",
                {"t": tenant, "tr": sorted({t for t, _ in kept_for}), "sp": sorted({s for _, s in kept_for})},
            )
            version = time.time_ns()
            before, after = [], []
            for row in rows:
                kept = kept_for.get((row[_I["trace_id"]], row[_I["span_id"]]))
                if kept is None or not row[_I["is_llm"]]:
                    continue
                before.append(tuple(row))
                demote_duplicate(row, kept)
                row[_I["version"]] = max(version, row[_I["version"]] + 1)
                after.append(tuple(row))
            if after:
                self._write(spans_table(after))
                self._withdraw(spans_table(before))  # what a running total counted for them is taken back
        paired = {(r.trace_id, r.span_id) for pair in pairs for r in pair}
        return len(pairs), {key for key in watched if key not in paired}

    def _reports(self, tenant: str, where: str, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
        """``_REPORT_COLUMNS`` of the tenant's LLM spans (and marked reports) matching ``where``."""
        return self._client.query(
            f"SELECT {_REPORT_COLUMNS} FROM spans FINAL WHERE tenant = {{t:String}} AND {where} "
            f"AND (is_llm OR mapContains(span_attributes, {{of:String}})) LIMIT {{n:UInt32}} {FINAL_SETTINGS}",
            parameters={"t": tenant, "of": DUPLICATE_OF, "rid": _RESPONSE_ID, "n": _MAX_READ, **params},
        ).result_rows


def duplicate_days(client: Client, tenant: str, start: datetime, end: datetime) -> list[tuple[date, str, int]]:
    rows = client.query(
        "SELECT toDate(start_time) AS day, span_attributes[{cause:String}] AS why, count() FROM spans FINAL "
        "WHERE tenant = {t:String} AND start_time >= {s:DateTime64(9, 'UTC')} AND start_time < {e:DateTime64(9, 'UTC')} "
        "AND NOT is_llm AND mapContains(span_attributes, {of:String}) GROUP BY day, why ORDER BY day, why "
        + FINAL_SETTINGS,
        parameters={"t": tenant, "s": start, "e": end, "of": DUPLICATE_OF, "cause": DUPLICATE_CAUSE},
    ).result_rows
    return [(day, why, int(count)) for day, why, count in rows]
