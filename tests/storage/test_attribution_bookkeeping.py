"""The attribution bookkeeping that runs for every written batch costs the same however long the
server has run (issue 20: noting a batch cost 5x more after 1.6M spans), and its documented limits hold."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from llmobserve.storage import Attribution, Store, StoreConfig, spans_table
from tests.span_rows import T0, span

BATCH = 1_000


def _batch(first: int, *, agent: str = "", customer: str = "", tenant: str = "acme") -> pa.Table:
    """``BATCH`` new traces of one LLM span each, as the receiver writes them (the columns noting reads)."""
    n = BATCH
    return pa.table(
        {
            "tenant": [tenant] * n,
            "trace_id": [f"{first + i:032x}" for i in range(n)],
            "span_id": ["0" * 16] * n,
            "parent_span_id": ["1" * 16] * n,
            "is_llm": [True] * n,
            "agent": [agent] * n,
            "customer": [customer] * n,
            "session": [""] * n,
            "start_time": pa.array([0] * n, pa.timestamp("ns", tz="UTC")),
            "end_time": pa.array([1] * n, pa.timestamp("ns", tz="UTC")),
            "input_tokens": pa.array([10] * n, pa.uint64()),
            "output_tokens": pa.array([1] * n, pa.uint64()),
            "scope": ["tests"] * n,
        }
    )


def _cost(attribution: Attribution, table: pa.Table) -> tuple[float, int]:
    """CPU seconds and steps to note one batch (queued by the writer, noted by the maintenance pass)."""
    steps = attribution.steps
    started = time.process_time()
    attribution.note_insert(table)
    attribution.absorb()
    return time.process_time() - started, attribution.steps - steps


def test_noting_a_batch_costs_no_more_after_half_a_million_traces_than_at_first() -> None:
    attribution = Attribution(client=None, write=lambda table: 0)  # type: ignore[arg-type]  # noting reads nothing
    tables = [_batch(i * BATCH) for i in range(500)]  # built first: only the noting is timed
    first = [_cost(attribution, table) for table in tables[:20]]  # empty maps: nothing to forget yet
    for table in tables[20:480]:  # 460,000 more traces: every map fills and then forgets its oldest
        attribution.note_insert(table)
        attribution.absorb()
    late = [_cost(attribution, table) for table in tables[480:]]
    assert attribution.pending == 200_000  # the bound, held

    # Steps: each trace is looked at once, and each forgotten entry once (three maps forget one
    # entry per new trace once full): bounded by a constant per trace, never by the maps' sizes.
    assert {steps for _, steps in first} == {BATCH}
    assert {steps for _, steps in late} == {4 * BATCH}
    # Time, the fastest of 20 batches each (other work on the machine only ever adds time): forgetting
    # is O(1), so a late batch costs what an early one did plus three dictionary pops per trace.
    # A plain dict's front, searched past every slot deleted before it, made the same batch cost
    # 10-100x more here (273 ms against 1.7 ms).
    early_s = min(seconds for seconds, _ in first)
    late_s = min(seconds for seconds, _ in late)
    assert late_s <= 3 * early_s + 0.005, (early_s, late_s)


def test_the_writer_only_queues_and_a_backlog_is_noted_by_the_writer_itself() -> None:
    attribution = Attribution(client=None, write=lambda table: 0)  # type: ignore[arg-type]
    attribution.note_insert(_batch(0))
    assert attribution.steps == 0  # nothing noted on the writer's thread
    for i in range(1, 501):  # past 500,000 queued rows the writer notes the backlog: memory stays bounded
        attribution.note_insert(_batch(i * BATCH))
    assert attribution.steps >= 500 * BATCH


def test_a_pending_trace_is_remembered_among_the_newest_200000_and_then_let_go() -> None:
    attribution = Attribution(client=None, write=lambda table: 0)  # type: ignore[arg-type]
    attribution.note_insert(_batch(0))  # trace 0 and 999 others: agent-less LLM spans
    for i in range(1, 150):  # 149,000 more agent-less traces
        attribution.note_insert(_batch(i * BATCH))
    assert attribution.is_pending("acme", f"{0:032x}")
    for i in range(150, 201):  # the 200,001st newer one pushes trace 0 out (the documented limit)
        attribution.note_insert(_batch(i * BATCH))
    assert not attribution.is_pending("acme", f"{0:032x}")
    assert attribution.is_pending("acme", f"{1_000:032x}")


@pytest.fixture()
def store(tmp_path):  # type: ignore[no-untyped-def]
    opened = Store.open(StoreConfig(tmp_path / "data"))
    yield opened
    opened.close()


def test_an_agent_arriving_after_150000_other_traces_still_attributes_its_llm_span(store: Store) -> None:
    at = T0 + timedelta(hours=1)
    store.insert_spans(spans_table([span("x", "llm", at, "0.25", parent_span_id="agent".ljust(16, "0"))]))
    maintainer = store.maintainer()
    maintainer.run_once(force=True)
    # 150,000 other traces of the same tenant: attributed LLM calls lacking a customer, which fill
    # the maps of traces lacking labels and of LLM traces (100,000 each) and overflow them
    for first in range(1, 150_001, 50_000):
        store.insert_spans(
            spans_table([span(f"{i:032x}", "o", at, "0.001", agent="bulk") for i in range(first, first + 50_000)])
        )
        maintainer.run_once()
    store.insert_spans(
        spans_table(
            [span("x", "agent", at, "0", is_llm=False, operation="invoke_agent", agent="late_agent", customer="cust_1")]
        )
    )
    maintainer.run_once(force=True)
    agents = {r.key: r.cost_usd for r in store.cost_breakdown("acme", "agent", at, at + timedelta(hours=1))}
    assert agents["late_agent"] == Decimal("0.25")
    assert store.attribution.pending == 0
