"""Rollups and run summaries: every aggregate equals the raw spans' answer, before and after a
refresh, with spans delivered twice, re-written, or arriving in buckets already rolled up."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from llmobserve.storage import Store, StoreConfig, spans_table
from tests.span_rows import T0, span


@pytest.fixture()
def store(tmp_path):  # type: ignore[no-untyped-def]
    opened = Store.open(StoreConfig(tmp_path / "data"))
    yield opened
    opened.close()


def _answers(store: Store, start: datetime, end: datetime) -> dict[str, object]:
    """Everything the cost endpoints read, for one range."""
    t = "acme"
    return {
        "model": store.cost_breakdown(t, "model", start, end),
        "customer": store.cost_breakdown(t, "customer", start, end),
        "agent": store.cost_breakdown(t, "agent", start, end),
        "day": store.cost_breakdown(t, "day", start, end),
        "hour": store.cost_breakdown(t, "hour", start, end),
        "filtered": store.cost_breakdown(t, "agent", start, end, {"model": "gpt-4o"}),
        "filtered_hour": store.cost_breakdown(t, "hour", start, end, {"customer": "c1"}),
        "series_hour": store.cost_timeseries(t, "hour", "model", start, end),
        "series_day": store.cost_timeseries(t, "day", None, start, end),
        "series_filtered": store.cost_timeseries(t, "day", "agent", start, end, {"customer": "c2"}),
        "totals": store.cost_totals(t, [(start, end), (start + timedelta(minutes=90), end - timedelta(minutes=30))]),
        "tops": store.cost_tops(t, ["model", "agent", "customer"], start, end, 1),
        "runs_time": store.list_runs(t, start, end, "time", 10, None, {}),
        "runs_cost": store.list_runs(t, start, end, "cost", 10, None, {"customer": "c1"}),
    }


def _seed(store: Store) -> None:
    rows = []
    for day in range(3):
        for hour in (0, 5, 23):
            at = T0 + timedelta(days=day, hours=hour, minutes=10)
            trace = f"{day}{hour:02d}"
            rows.append(
                span(
                    trace,
                    "a",
                    at,
                    "0",
                    is_llm=False,
                    operation="invoke_agent",
                    agent="planner",
                    customer="c1",
                    name="invoke_agent planner",
                )
            )
            rows.append(
                span(
                    trace,
                    "b",
                    at + timedelta(seconds=1),
                    "0.25",
                    parent_span_id="a".ljust(16, "0"),
                    agent="planner",
                    customer="c1",
                    model="gpt-4o",
                )
            )
            rows.append(
                span(
                    trace,
                    "c",
                    at + timedelta(seconds=2),
                    "1.5",
                    parent_span_id="a".ljust(16, "0"),
                    agent="writer",
                    customer="c2",
                    model="claude-sonnet-4-5",
                    provider="anthropic",
                )
            )
    store.insert_spans(spans_table(rows))


def test_rollup_answers_equal_raw_answers_and_stay_exact_under_redelivery(store: Store) -> None:
    _seed(store)
    ranges = [
        (T0, T0 + timedelta(days=3)),
        (T0 + timedelta(hours=3, minutes=7), T0 + timedelta(days=2, hours=6)),
        (T0 - timedelta(days=10), T0 + timedelta(days=10)),
    ]
    raw = [_answers(store, *r) for r in ranges]  # nothing refreshed yet: every bucket is read raw
    assert raw[0]["model"][0].cost_usd == Decimal("13.5") and raw[0]["model"][0].calls == 9
    maintainer = store.maintainer()
    assert maintainer.run_once(force=True) == 9 + 3  # 9 hours, 3 days
    assert [_answers(store, *r) for r in ranges] == raw

    _seed(store)  # the same spans again (an exporter retry): nothing may change, refreshed or not
    assert [_answers(store, *r) for r in ranges] == raw
    maintainer.run_once(force=True)
    assert [_answers(store, *r) for r in ranges] == raw


def test_spans_landing_in_a_rolled_up_hour_count_at_once(store: Store) -> None:
    _seed(store)
    store.maintainer().run_once(force=True)
    day = (T0, T0 + timedelta(days=1))
    before = store.cost_breakdown("acme", "customer", *day)
    late = T0 + timedelta(hours=5, minutes=30)
    store.insert_spans(
        spans_table(
            [
                span("005", "d", late, "2", customer="c3", agent="planner", parent_span_id="a".ljust(16, "0")),
            ]
        )
    )
    after = store.cost_breakdown("acme", "customer", *day)
    assert {r.key: r.cost_usd for r in after} == {**{r.key: r.cost_usd for r in before}, "c3": Decimal(2)}
    runs = store.list_runs("acme", *day, "cost", 10, None, {})
    assert runs[0].trace_id.startswith("005") and runs[0].cost_usd == Decimal("3.75")  # 0.25 + 1.5 + 2
    store.maintainer().run_once(force=True)
    assert store.cost_breakdown("acme", "customer", *day) == after
    assert store.list_runs("acme", *day, "cost", 10, None, {}) == runs


def test_a_rewritten_span_replaces_its_old_cost_in_every_rollup(store: Store) -> None:
    _seed(store)
    maintainer = store.maintainer()
    maintainer.run_once(force=True)
    at = T0 + timedelta(hours=5, minutes=10, seconds=2)
    # a re-priced (or re-attributed) span: same identity, newer version, new cost and agent
    store.insert_spans(
        spans_table(
            [
                span(
                    "005",
                    "c",
                    at,
                    "0.5",
                    agent="planner",
                    customer="c2",
                    model="claude-sonnet-4-5",
                    provider="anthropic",
                    version=2,
                )
            ]
        )
    )
    maintainer.run_once(force=True)
    day = (T0, T0 + timedelta(days=1))
    agents = {r.key: (r.cost_usd, r.calls) for r in store.cost_breakdown("acme", "agent", *day)}
    assert agents == {"planner": (Decimal("1.25"), 4), "writer": (Decimal("3"), 2)}
    filtered = store.cost_breakdown("acme", "agent", *day, {"model": "claude-sonnet-4-5"})
    assert {r.key: r.cost_usd for r in filtered} == {"planner": Decimal("0.5"), "writer": Decimal("3")}
    run = [r for r in store.list_runs("acme", *day, "time", 10, None, {}) if r.trace_id.startswith("005")]
    assert run[0].cost_usd == Decimal("0.75")


def test_trace_tree_finds_its_spans_in_its_tenant_only(store: Store) -> None:
    _seed(store)
    assert store.trace_spans("acme", "f" * 32) == []
    spans = store.trace_spans("acme", "123".ljust(32, "0"))
    assert [s.span_id[0] for s in spans] == ["a", "b", "c"]
    assert store.trace_spans("other", "123".ljust(32, "0")) == []


def test_runs_of_a_big_hour_are_summarised_in_slices_to_the_same_answer(store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import llmobserve.storage._rollups as rollups

    _seed(store)
    span_range = (T0, T0 + timedelta(days=3))
    raw = [store.list_runs("acme", *span_range, order, 20, None, {}) for order in ("time", "cost")]
    monkeypatch.setattr(rollups, "_RUNS_SLICE", 2)  # 3 spans an hour: 2 slices per hour
    store.maintainer().run_once(force=True)
    assert store.client.query("SELECT uniqExact(trace_id) FROM runs").result_rows[0][0] == 9
    assert [store.list_runs("acme", *span_range, order, 20, None, {}) for order in ("time", "cost")] == raw


def test_spans_written_in_sql_count_once_the_rollups_are_told(store: Store) -> None:
    _seed(store)
    store.maintainer().run_once(force=True)
    day = (T0, T0 + timedelta(days=1))
    # re-cost one span behind the writer's back (as bench/query_seed.py writes in SQL)
    store.client.command(
        "INSERT INTO spans SELECT * REPLACE (toDecimal64(2, 12) AS cost_usd, version + 1 AS version) "
        "FROM spans WHERE trace_id = {t:String} AND span_id LIKE 'b%'",
        parameters={"t": "000".ljust(32, "0")},
    )
    stale = {r.key: r.cost_usd for r in store.cost_breakdown("acme", "agent", *day)}
    assert stale["planner"] == Decimal("0.75")  # the rollup does not know yet
    store.mark_rollups_dirty("acme")
    assert {r.key: r.cost_usd for r in store.cost_breakdown("acme", "agent", *day)}["planner"] == Decimal("2.5")
    store.maintainer().run_once(force=True)
    assert {r.key: r.cost_usd for r in store.cost_breakdown("acme", "agent", *day)}["planner"] == Decimal("2.5")
