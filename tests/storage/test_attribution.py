"""Foreign LLM spans (no agent of their own) take the agent of their nearest ancestor agent span,
also when that ancestor is stored after them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from llmobserve.storage import Store, StoreConfig, spans_table
from tests.span_rows import T0, span

DAY = (T0, T0 + timedelta(days=1))


@pytest.fixture()
def store(tmp_path):  # type: ignore[no-untyped-def]
    opened = Store.open(StoreConfig(tmp_path / "data"))
    yield opened
    opened.close()


def _agents(store: Store) -> dict[str, Decimal]:
    return {r.key: r.cost_usd for r in store.cost_breakdown("acme", "agent", *DAY)}


def _customers(store: Store) -> dict[str, Decimal]:
    return {r.key: r.cost_usd for r in store.cost_breakdown("acme", "customer", *DAY)}


def test_an_llm_span_exported_before_its_agent_gets_the_agent_when_the_agent_arrives(store: Store) -> None:
    at = T0 + timedelta(hours=2)
    # a third-party LLM span under a framework "chain" span, under our agent span: children end first
    store.insert_spans(
        spans_table(
            [
                span(
                    "t1",
                    "llm",
                    at + timedelta(seconds=2),
                    "0.40",
                    parent_span_id="chain".ljust(16, "0"),
                    scope="openinference",
                ),
            ]
        )
    )
    maintainer = store.maintainer()
    maintainer.run_once(force=True)
    assert _agents(store) == {"untracked": Decimal("0.40")}  # the ancestors are not here yet

    store.insert_spans(
        spans_table(
            [
                span(
                    "t1",
                    "chain",
                    at + timedelta(seconds=1),
                    "0",
                    is_llm=False,
                    parent_span_id="agent".ljust(16, "0"),
                    operation="chain",
                    scope="openinference",
                ),
            ]
        )
    )
    maintainer.run_once(force=True)
    assert _agents(store) == {"untracked": Decimal("0.40")}  # still no agent above it

    # the agent span, from another export and another hour, carrying our labels
    store.insert_spans(
        spans_table(
            [
                span(
                    "t1",
                    "agent",
                    at - timedelta(minutes=30),
                    "0",
                    is_llm=False,
                    operation="invoke_agent",
                    agent="research",
                    customer="cust_7",
                    section_path="agent:research",
                    name="invoke_agent research",
                ),
            ]
        )
    )
    maintainer.run_once(force=True)
    assert _agents(store) == {"research": Decimal("0.40")}
    assert _customers(store) == {"cust_7": Decimal("0.40")}
    tree = {s.span_id[:5]: s for s in store.trace_spans("acme", "t1".ljust(32, "0"))}
    assert (tree["llm00"].agent, tree["llm00"].section_path) == ("research", "agent:research")
    assert store.span_count("acme") == 3  # re-written, never added
    assert store.attribution.pending == 0


def test_the_nearest_agent_wins_and_own_labels_are_kept(store: Store) -> None:
    at = T0 + timedelta(hours=3)
    store.insert_spans(
        spans_table(
            [
                span("t2", "outer", at, "0", is_llm=False, agent="orchestrator", customer="cust_1"),
                span("t2", "inner", at, "0", is_llm=False, agent="writer", parent_span_id="outer".ljust(16, "0")),
                span("t2", "llm", at, "1", parent_span_id="inner".ljust(16, "0"), customer="cust_9"),
                span("t2", "own", at, "2", parent_span_id="inner".ljust(16, "0"), agent="critic"),
            ]
        )
    )
    store.maintainer().run_once(force=True)
    assert _agents(store) == {"writer": Decimal(1), "critic": Decimal(2)}
    # the llm span keeps its own customer; "own" keeps its agent and takes the nearest customer above it
    assert _customers(store) == {"cust_9": Decimal(1), "cust_1": Decimal(2)}


def test_spans_with_no_agent_anywhere_stay_untracked_and_are_let_go(store: Store) -> None:
    at = T0 + timedelta(hours=4)
    store.insert_spans(
        spans_table(
            [
                span("t3", "root", at, "0", is_llm=False),
                span("t3", "llm", at, "0.5", parent_span_id="root".ljust(16, "0")),
            ]
        )
    )
    store.maintainer().run_once(force=True)
    assert _agents(store) == {"untracked": Decimal("0.5")}
    assert store.attribution.pending == 0


def test_an_llm_span_with_its_own_agent_takes_customer_and_session_from_an_ancestor_stored_later(store: Store) -> None:
    at = T0 + timedelta(hours=5)
    store.insert_spans(
        spans_table(
            [
                span("t4", "llm", at, "0.3", parent_span_id="agent".ljust(16, "0"), agent="support_bot"),
                span("t4", "agent", at, "0", is_llm=False, parent_span_id="root".ljust(16, "0"), agent="support_bot"),
            ]
        )
    )
    maintainer = store.maintainer()
    maintainer.run_once(force=True)
    assert _customers(store) == {"untracked": Decimal("0.3")}
    assert store.attribution.pending == 0  # it has its agent: nothing waits for the ancestors

    store.insert_spans(spans_table([span("t4", "root", at, "0", is_llm=False, customer="u1", session="s1")]))
    maintainer.run_once(force=True)
    assert _customers(store) == {"u1": Decimal("0.3")}
    assert {r.key: r.cost_usd for r in store.cost_breakdown("acme", "session", *DAY)} == {"s1": Decimal("0.3")}
    assert _agents(store) == {"support_bot": Decimal("0.3")}  # its own agent kept
    assert store.span_count("acme") == 3


def test_own_customer_and_session_are_kept_and_the_nearest_ancestor_wins(store: Store) -> None:
    at = T0 + timedelta(hours=6)
    store.insert_spans(
        spans_table(
            [
                span("t5", "root", at, "0", is_llm=False, customer="far", session="far-s"),
                span("t5", "mid", at, "0", is_llm=False, parent_span_id="root".ljust(16, "0"), session="near-s"),
                span("t5", "llm", at, "1", parent_span_id="mid".ljust(16, "0"), agent="a", customer="own"),
            ]
        )
    )
    store.maintainer().run_once(force=True)
    assert _customers(store) == {"own": Decimal(1)}
    assert {r.key: r.cost_usd for r in store.cost_breakdown("acme", "session", *DAY)} == {"near-s": Decimal(1)}


@pytest.mark.parametrize("outer_first", [False, True])
def test_one_call_reported_twice_is_priced_once_on_the_inner_span_whatever_arrives_first(
    store: Store, outer_first: bool
) -> None:
    """A framework's LLM span above a provider instrumentation's (OpenAI Agents / AutoGen + openai instrumentor)."""
    at = T0 + timedelta(hours=7)
    outer = span("t6", "outer", at, "0.0045", parent_span_id="agent".ljust(16, "0"), model="gpt-4o-2024-08-06")
    inner = span("t6", "inner", at, "0.004", parent_span_id="outer".ljust(16, "0"))
    agent = span("t6", "agent", at, "0", is_llm=False, agent="support_bot")
    for batch in ([outer, agent], [inner]) if outer_first else ([inner], [outer, agent]):
        store.insert_spans(spans_table(batch))
        store.maintainer().run_once(force=True)
    assert _agents(store) == {"support_bot": Decimal("0.004")}
    tree = {s.span_id[:5]: s for s in store.trace_spans("acme", "t6".ljust(32, "0"))}
    assert (tree["outer"].is_llm, tree["outer"].cost_usd) == (False, 0)
    assert store.span_count("acme") == 3


def test_nesting_in_one_batch_is_settled_before_it_is_stored() -> None:
    from llmobserve.storage import SPAN_COLUMNS, price_innermost

    rows = [
        span("t7", "outer", T0, "2"),
        span("t7", "mid", T0, "0", is_llm=False, operation="", parent_span_id="outer".ljust(16, "0")),
        span("t7", "inner", T0, "1", parent_span_id="mid".ljust(16, "0")),
        span("t8", "alone", T0, "3"),
    ]
    out = {row[SPAN_COLUMNS.index("span_id")][:5]: row for row in price_innermost(rows)}
    is_llm, cost, attrs = (SPAN_COLUMNS.index(c) for c in ("is_llm", "cost_usd", "span_attributes"))
    assert (out["outer"][is_llm], out["outer"][cost]) == (False, 0)
    assert ("llmobserve.priced_by", "inner".ljust(16, "0")) in out["outer"][attrs]
    assert (out["inner"][is_llm], out["inner"][cost], out["alone"][cost]) == (True, Decimal(1), Decimal(3))
    # a tool run between two LLM spans separates two calls: both priced
    apart = [
        span("t9", "outer", T0, "2"),
        span("t9", "tool", T0, "0", is_llm=False, operation="execute_tool", parent_span_id="outer".ljust(16, "0")),
        span("t9", "inner", T0, "1", parent_span_id="tool".ljust(16, "0")),
    ]
    assert price_innermost(apart) == apart


def test_a_relative_section_hangs_under_the_inherited_agent(store: Store) -> None:
    """LangGraph: the LLM span names its node ("node:triage"); the graph above it is the agent."""
    at = T0 + timedelta(hours=8)
    store.insert_spans(
        spans_table(
            [
                span("t9", "graph", at, "0", is_llm=False, agent="support_bot", section_path="agent:support_bot"),
                span(
                    "t9",
                    "node",
                    at,
                    "0",
                    is_llm=False,
                    parent_span_id="graph".ljust(16, "0"),
                    section_path="node:triage",
                ),
                span("t9", "llm", at, "1", parent_span_id="node".ljust(16, "0"), section_path="node:triage"),
            ]
        )
    )
    store.maintainer().run_once(force=True)
    assert {r.key: r.cost_usd for r in store.cost_breakdown("acme", "section", *DAY)} == {
        "agent:support_bot/node:triage": Decimal(1)
    }
