"""The evidence that two LLM spans in two traces report one call (``storage._duplicates``), case by
case: each rule, when it fails alone, keeps the two apart."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from llmobserve.storage import SPAN_COLUMNS, mark_duplicates
from llmobserve.storage._duplicates import Report, model_family, same_call
from tests.span_rows import T0, span

CLIENT_SCOPE, FRAMEWORK_SCOPE = "openinference.instrumentation.openai", "openinference.instrumentation.crewai"
COL = {name: i for i, name in enumerate(SPAN_COLUMNS)}


def _client(**fields: object) -> tuple[object, ...]:
    """The client instrumentor's report: a root of its own trace, 100 ms inside the framework's call."""
    base = {
        "scope": CLIENT_SCOPE,
        "model": "gpt-4o-mini-2024-07-18",
        "input_tokens": 1200,
        "output_tokens": 150,
        "cache_read_tokens": 400,
        "reasoning_tokens": 20,
        "customer": "u1",
    }
    at = T0 + timedelta(milliseconds=100)
    row = span("c1", "client", at, "0.0003", **{**base, **fields})
    return _with(row, end_time=int(at.timestamp() * 1e9) + 50_000_000)


def _framework(**fields: object) -> tuple[object, ...]:
    base = {
        "scope": FRAMEWORK_SCOPE,
        "model": "gpt-4o-mini",
        "provider": "",
        "input_tokens": 1200,
        "output_tokens": 150,
        "cache_read_tokens": 400,
        "reasoning_tokens": 0,
        "agent": "support_bot",
        "customer": "u1",
        "parent_span_id": "agent".ljust(16, "0"),
    }
    row = span("f1", "framework", T0, "0.0003", **{**base, **fields})
    return _with(row, end_time=int(T0.timestamp() * 1e9) + 500_000_000)


def _with(row: tuple[object, ...], **fields: object) -> tuple[object, ...]:
    values = list(row)
    for name, value in fields.items():
        values[COL[name]] = value
    return tuple(values)


def test_the_recorded_pair_is_one_call() -> None:
    assert same_call(Report.of(_client()), Report.of(_framework()))
    assert model_family("gpt-4o-mini-2024-07-18") == model_family("openai/gpt-4o-mini") == "gpt-4o-mini"
    assert model_family("claude-3-5-sonnet@20240620") == model_family("claude-3-5-sonnet-20240620")


@pytest.mark.parametrize(
    ("client", "framework", "why"),
    [
        ({}, {"scope": CLIENT_SCOPE}, "one instrumentation reports a call once"),
        ({"trace_id": "f1".ljust(32, "0")}, {}, "the same trace: nesting's job, not this"),
        ({"parent_span_id": "x".ljust(16, "0")}, {}, "neither roots its trace"),
        ({"service": "other"}, {}, "another service"),
        ({"resource_attributes": [("host.name", "a")]}, {"resource_attributes": [("host.name", "b")]}, "two hosts"),
        ({"model": "gpt-4o"}, {}, "another model"),
        ({"provider": "openai"}, {"provider": "azure.ai.openai"}, "two providers"),
        ({"input_tokens": 1201}, {}, "other input"),
        ({"output_tokens": 151}, {}, "other output"),
        ({"cache_read_tokens": 300}, {}, "other cache reads, both reported"),
        ({"reasoning_tokens": 20}, {"reasoning_tokens": 30}, "other reasoning, both reported"),
        ({"input_tokens": 0, "output_tokens": 0}, {"input_tokens": 0, "output_tokens": 0}, "no usage"),
        (
            {"span_attributes": [("gen_ai.response.id", "chatcmpl-1")]},
            {"span_attributes": [("gen_ai.response.id", "chatcmpl-2")]},
            "two answers",
        ),
        ({"start_time": int((T0 - timedelta(seconds=1)).timestamp() * 1e9)}, {}, "not inside the other"),
    ],
)
def test_each_rule_alone_keeps_two_reports_apart(client: dict, framework: dict, why: str) -> None:  # type: ignore[type-arg]
    assert not same_call(Report.of(_client(**client)), Report.of(_framework(**framework))), why


def test_a_missing_count_or_id_is_no_evidence_against() -> None:
    """A framework may not report reasoning, cache or the response id: absent is not different."""
    client = _client(span_attributes=[("gen_ai.response.id", "chatcmpl-1")], provider="openai")
    assert same_call(Report.of(client), Report.of(_framework(cache_read_tokens=0)))


def test_in_one_batch_the_richer_report_is_kept_and_the_other_costs_nothing() -> None:
    rows = mark_duplicates([_client(), _framework()])
    client, framework = ({r[COL["span_id"]][:6]: r for r in rows}[k] for k in ("client", "framew"))
    assert framework[COL["is_llm"]] and framework[COL["cost_usd"]] == Decimal("0.0003")
    assert not client[COL["is_llm"]] and client[COL["cost_usd"]] == 0
    assert dict(client[COL["span_attributes"]])["llmobserve.duplicate_of"] == "f1".ljust(
        32, "0"
    ) + "/" + "framework".ljust(16, "0")


def test_each_report_pairs_once() -> None:
    """Two client reports fit one framework report: one is its duplicate, the other a call of its own."""
    second = _with(_client(), trace_id="c2".ljust(32, "0"), span_id="client2".ljust(16, "0"))
    rows = mark_duplicates([_client(), second, _framework()])
    assert sum(1 for r in rows if r[COL["is_llm"]]) == 2
