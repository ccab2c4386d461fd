"""One small seeded dataset, every read endpoint, exact expected numbers (worked out by hand below).

Three runs over two days, sent over OTLP/gRPC children first, parents last:
  R1 2026-01-05 10:00 svc-a  agent research, customer c1: gpt-4o $0.00725; under tool search, gpt-4o-mini $0.00057
  R2 2026-01-05 11:00 svc-a  agent writer, customer c2: claude haiku $0.0008; gpt-4o failed with a 429, $0
  R3 2026-01-06 09:00 svc-b  no agent, customer c1: mystery-model (unpriced, 10 + 10 tokens); gpt-4o-mini $0.00057
Priced total $0.00919 over 6 LLM calls.
"""

from __future__ import annotations

import csv
import io
import os

from tests.otlp_helpers import chat_attrs, grpc_export, request, span

H = 3600 * 10**9
JAN5 = 1_767_571_200 * 10**9  # 2026-01-05T00:00:00Z
RANGE = {"from": "2026-01-05", "to": "2026-01-07"}
GPT4O = chat_attrs("openai", "gpt-4o", 1000, 500, **{"gen_ai.usage.cache_read.input_tokens": 200})  # $0.00725
MINI = chat_attrs("openai", "gpt-4o-mini", 3000, 200)  # $0.00057
HAIKU = chat_attrs("anthropic", "claude-3-5-haiku-20241022", 1000, 0)  # $0.0008
FAILED = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "http.response.status_code": 429,
    "error.type": "429",
}
MYSTERY = chat_attrs("openai", "mystery-model", 10, 10)


def _labels(customer: str, section: str = "") -> dict[str, str]:
    return {"llmobserve.customer.id": customer, **({"llmobserve.section.path": section} if section else {})}


def _seed(server, key: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    ids = {name: os.urandom(16) for name in ("r1", "r2", "r3")}
    r1, r2, r3, tool = os.urandom(8), os.urandom(8), os.urandom(8), os.urandom(8)
    agent = {"gen_ai.operation.name": "invoke_agent"}
    children = [
        span(
            "chat gpt-4o",
            {**GPT4O, **_labels("c1", "agent:research")},
            trace_id=ids["r1"],
            parent=r1,
            start_ns=JAN5 + 10 * H + 10**9,
        ),
        span(
            "chat gpt-4o-mini",
            {**MINI, **_labels("c1", "agent:research/tool:search")},
            trace_id=ids["r1"],
            parent=tool,
            start_ns=JAN5 + 10 * H + 3 * 10**9,
        ),
        span(
            "chat haiku",
            {**HAIKU, **_labels("c2", "agent:writer")},
            trace_id=ids["r2"],
            parent=r2,
            start_ns=JAN5 + 11 * H + 10**9,
        ),
        span(
            "chat gpt-4o",
            {**FAILED, **_labels("c2", "agent:writer")},
            trace_id=ids["r2"],
            parent=r2,
            start_ns=JAN5 + 11 * H + 2 * 10**9,
            status_code=2,
        ),
        span(
            "chat mystery", {**MYSTERY, **_labels("c1")}, trace_id=ids["r3"], parent=r3, start_ns=JAN5 + 33 * H + 10**9
        ),
        span(
            "chat gpt-4o-mini",
            {**MINI, **_labels("c1")},
            trace_id=ids["r3"],
            parent=r3,
            start_ns=JAN5 + 33 * H + 2 * 10**9,
        ),
    ]
    parents = [
        span(
            "execute_tool search",
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "search",
                **_labels("c1", "agent:research/tool:search"),
            },
            trace_id=ids["r1"],
            span_id=tool,
            parent=r1,
            start_ns=JAN5 + 10 * H + 2 * 10**9,
        ),
        span(
            "invoke_agent research",
            {**agent, "gen_ai.agent.name": "research", **_labels("c1", "agent:research")},
            trace_id=ids["r1"],
            span_id=r1,
            start_ns=JAN5 + 10 * H,
        ),
        span(
            "invoke_agent writer",
            {**agent, "gen_ai.agent.name": "writer", **_labels("c2", "agent:writer")},
            trace_id=ids["r2"],
            span_id=r2,
            start_ns=JAN5 + 11 * H,
        ),
    ]
    grpc_export(server.grpc_target, key, request(*children[:4], service="svc-a").SerializeToString())
    grpc_export(server.grpc_target, key, request(*children[4:], service="svc-b").SerializeToString())
    grpc_export(server.grpc_target, key, request(*parents, service="svc-a").SerializeToString())
    grpc_export(
        server.grpc_target,
        key,
        request(
            span("POST /chat", {"http.request.method": "POST"}, trace_id=ids["r3"], span_id=r3, start_ns=JAN5 + 33 * H),
            service="svc-b",
        ).SerializeToString(),
    )
    return {name: trace.hex() for name, trace in ids.items()}


def _rows(server, key: str, group_by: str, **params: str) -> dict[str, tuple[float, int, int, int]]:  # type: ignore[no-untyped-def]
    body = server.get("/api/v1/costs/breakdown", key, group_by=group_by, **RANGE, **params).json()
    return {r["key"]: (r["cost_usd"], r["calls"], r["failed_calls"], r["unpriced_calls"]) for r in body["rows"]}


def test_every_read_endpoint_on_one_dataset(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    key = tenant_key
    traces = _seed(server, key)

    # breakdowns: (cost, calls, failed, unpriced)
    assert _rows(server, key, "model") == {
        "gpt-4o": (0.00725, 2, 1, 0),
        "gpt-4o-mini": (0.00114, 2, 0, 0),
        "claude-3-5-haiku-20241022": (0.0008, 1, 0, 0),
        "mystery-model": (0.0, 1, 0, 1),
    }
    assert _rows(server, key, "agent") == {
        "research": (0.00782, 2, 0, 0),
        "writer": (0.0008, 2, 1, 0),
        "untracked": (0.00057, 2, 0, 1),
    }
    assert _rows(server, key, "customer") == {"c1": (0.00839, 4, 0, 1), "c2": (0.0008, 2, 1, 0)}
    assert _rows(server, key, "provider") == {"openai": (0.00839, 5, 1, 1), "anthropic": (0.0008, 1, 0, 0)}
    assert _rows(server, key, "service") == {"svc-a": (0.00862, 4, 1, 0), "svc-b": (0.00057, 2, 0, 1)}
    assert _rows(server, key, "section") == {
        "agent:research": (0.00725, 1, 0, 0),
        "agent:research/tool:search": (0.00057, 1, 0, 0),
        "agent:writer": (0.0008, 2, 1, 0),
        "untracked": (0.00057, 2, 0, 1),
    }
    assert _rows(server, key, "tool") == {"untracked": (0.00862, 5, 1, 1), "search": (0.00057, 1, 0, 0)}
    assert _rows(server, key, "day") == {"2026-01-05": (0.00862, 4, 1, 0), "2026-01-06": (0.00057, 2, 0, 1)}
    assert _rows(server, key, "hour") == {
        "2026-01-05T10:00:00Z": (0.00782, 2, 0, 0),
        "2026-01-05T11:00:00Z": (0.0008, 2, 1, 0),
        "2026-01-06T09:00:00Z": (0.00057, 2, 0, 1),
    }
    assert _rows(server, key, "agent", customer="c1", provider="openai") == {
        "research": (0.00782, 2, 0, 0),
        "untracked": (0.00057, 2, 0, 1),
    }
    tokens = server.get("/api/v1/costs/breakdown", key, group_by="agent", agent="research", **RANGE).json()["rows"][0]
    assert (tokens["input_tokens"], tokens["output_tokens"], tokens["cached_tokens"]) == (4000, 700, 200)

    # summary at 2026-01-06 12:00: the last 24 h hold R3 only, the 24 h before R1 and R2
    summary = server.get("/api/v1/costs/summary", key, as_of="2026-01-06T12:00:00Z").json()
    assert summary["last_24h"] == {"cost_usd": 0.00057, "calls": 2}
    assert summary["previous_24h"] == {"cost_usd": 0.00862, "calls": 4}
    assert round(summary["change_24h_pct"], 6) == round((0.00057 - 0.00862) / 0.00862 * 100, 6)
    assert summary["last_7d"] == {"cost_usd": 0.00919, "calls": 6} and summary["change_7d_pct"] is None
    assert [(t["key"], t["cost_usd"]) for t in summary["top"]["customer"]] == [("c1", 0.00839), ("c2", 0.0008)]
    assert [t["key"] for t in summary["top"]["model"]] == [
        "gpt-4o",
        "gpt-4o-mini",
        "claude-3-5-haiku-20241022",
        "mystery-model",
    ]
    assert round(summary["untracked_share_pct"], 6) == round(0.00057 / 0.00919 * 100, 6)

    # timeseries
    daily = server.get("/api/v1/costs/timeseries", key, interval="day", **RANGE).json()
    assert daily["series"] == [{"key": "total", "cost_usd": [0.00862, 0.00057], "calls": [4, 2]}]
    by_agent = server.get(
        "/api/v1/costs/timeseries", key, interval="day", group_by="agent", customer="c1", **RANGE
    ).json()
    assert {s["key"]: s["cost_usd"] for s in by_agent["series"]} == {
        "research": [0.00782, 0.0],
        "untracked": [0.0, 0.00057],
    }

    # runs
    runs = server.get("/api/v1/traces", key, sort="cost", **RANGE).json()["data"]
    assert [
        (r["trace_id"], r["cost_usd"], r["llm_calls"], r["errors"], r["root_name"], r["service"]) for r in runs
    ] == [
        (traces["r1"], 0.00782, 2, 0, "invoke_agent research", "svc-a"),
        (traces["r2"], 0.0008, 2, 1, "invoke_agent writer", "svc-a"),
        (traces["r3"], 0.00057, 2, 0, "POST /chat", "svc-b"),
    ]
    assert runs[0]["top_section"] == "agent:research" and runs[0]["duration_ms"] == 3001.0
    newest = server.get("/api/v1/traces", key, sort="time", limit=2, **RANGE).json()
    assert [r["trace_id"] for r in newest["data"]] == [traces["r3"], traces["r2"]] and newest["next_cursor"]
    rest = server.get("/api/v1/traces", key, sort="time", limit=2, cursor=newest["next_cursor"], **RANGE).json()
    assert [r["trace_id"] for r in rest["data"]] == [traces["r1"]] and rest["next_cursor"] is None
    assert [r["trace_id"] for r in server.get("/api/v1/traces", key, agent="writer", **RANGE).json()["data"]] == [
        traces["r2"]
    ]

    # trace tree
    tree = server.get(f"/api/v1/traces/{traces['r1']}", key).json()
    assert tree["spans"] == 4 and tree["total_cost_usd"] == 0.00782
    [root] = tree["roots"]
    assert (root["name"], root["cost_usd"], root["subtree_cost_usd"]) == ("invoke_agent research", 0.0, 0.00782)
    tool = next(c for c in root["children"] if c["name"] == "execute_tool search")
    assert tool["subtree_cost_usd"] == 0.00057 and tool["children"][0]["model"] == "gpt-4o-mini"

    # exports
    costs = server.get("/api/v1/export/costs", key, format="json", group_by="customer", **RANGE).json()
    assert [(r["key"], r["cost_usd"], r["calls"]) for r in costs] == [
        ("c1", "0.008390000000", 4),
        ("c2", "0.000800000000", 2),
    ]
    spans = list(csv.DictReader(io.StringIO(server.get("/api/v1/export/traces", key, format="csv", **RANGE).text)))
    assert len(spans) == 10 and sum(float(r["cost_usd"]) for r in spans) == sum([0.00725, 0.00057, 0.0008, 0.00057])
    assert {r["trace_id"] for r in spans} == set(traces.values())

    # unpriced models
    unpriced = server.get("/api/v1/pricing/unpriced", key, **RANGE).json()
    assert [
        (m["provider"], m["model"], m["calls"], m["input_tokens"], m["output_tokens"]) for m in unpriced["models"]
    ] == [("openai", "mystery-model", 1, 10, 10)]
