"""Through the HTTP API: the answers read from rollups after the background refresh are the very
answers read from the raw spans before it, and stay so when the same spans are sent again."""

from __future__ import annotations

import os
import time

from tests.otlp_helpers import chat_attrs, grpc_export, request, span

DAY_NS = 86_400 * 10**9
START_NS = 1_767_312_000 * 10**9  # 2026-01-02T00:00:00Z
WINDOW = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-05T00:00:00Z"}
QUERIES = [
    ("/api/v1/costs/breakdown", {"group_by": "model", **WINDOW}),
    ("/api/v1/costs/breakdown", {"group_by": "customer", **WINDOW}),
    ("/api/v1/costs/breakdown", {"group_by": "agent", "model": "gpt-4o", **WINDOW}),
    ("/api/v1/costs/breakdown", {"group_by": "hour", **WINDOW}),
    ("/api/v1/costs/timeseries", {"interval": "hour", "group_by": "agent", **WINDOW}),
    ("/api/v1/costs/summary", {"as_of": "2026-01-04T12:30:00Z"}),
    ("/api/v1/traces", {"sort": "cost", **WINDOW}),
    ("/api/v1/traces", {"sort": "time", "customer": "cust_2", **WINDOW}),
]


def _body(customer: str, agent: str, at: int) -> bytes:
    trace, root = os.urandom(16), os.urandom(8)
    # labelled as our SDK labels them (a section path on every span), so no late attribution moves cost
    labels = {"llmobserve.customer.id": customer, "llmobserve.section.path": f"agent:{agent}"}
    return request(
        span(
            f"invoke_agent {agent}",
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent, **labels},
            trace_id=trace,
            span_id=root,
            start_ns=at,
        ),
        span(
            "chat gpt-4o",
            chat_attrs("openai", "gpt-4o", 1000, 100, **labels),
            trace_id=trace,
            parent=root,
            start_ns=at + 10**9,
        ),
        span(
            "chat mini",
            chat_attrs("openai", "gpt-4o-mini", 5000, 300, **labels),
            trace_id=trace,
            parent=root,
            start_ns=at + 2 * 10**9,
        ),
    ).SerializeToString()


def _answers(server, key: str) -> list[object]:  # type: ignore[no-untyped-def]
    out = []
    for path, params in QUERIES:
        response = server.get(path, key, **params)
        assert response.status_code == 200, (path, response.text)
        out.append(response.json())
    return out


def test_rollup_answers_match_raw_answers_over_http(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    bodies = [
        _body(f"cust_{i % 3}", f"agent_{i % 2}", START_NS + (i * 7 * 3600 * 10**9) % (3 * DAY_NS)) for i in range(12)
    ]
    for body in bodies:
        grpc_export(server.grpc_target, tenant_key, body)
    raw = _answers(server, tenant_key)  # written seconds ago: every bucket is read raw
    assert raw[0]["rows"][0]["calls"] == 12 and raw[0]["total_cost_usd"] > 0

    deadline = time.monotonic() + 60  # buckets are refreshed once writes pause for 10 s
    time.sleep(11)
    while server.get("/healthz", None).json()["rollups_pending"] != 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert server.get("/healthz", None).json()["rollups_pending"] == 0
    after = _answers(server, tenant_key)
    for i, (a, b) in enumerate(zip(after, raw)):
        assert a == b, (i, QUERIES[i], a, b)

    for body in bodies[:5]:  # an exporter retry: nothing may change, before or after the next refresh
        grpc_export(server.grpc_target, tenant_key, body)
    assert _answers(server, tenant_key) == raw
