"""GET /api/v1/traces: runs newest or costliest first, cursor pages that never repeat or skip."""

from __future__ import annotations

import os

from tests.otlp_helpers import chat_attrs, grpc_export, request, span

BASE = 1_772_323_200 * 10**9  # 2026-03-01T00:00Z
MIN = 60 * 10**9
WIDE = {"from": "2026-02-28T00:00:00Z", "to": "2026-03-02T00:00:00Z"}


def _run(index: int, output_tokens: int, customer: str):  # type: ignore[no-untyped-def]
    trace, root = os.urandom(16), os.urandom(8)
    start = BASE + index * MIN
    return trace.hex(), [
        span(
            f"invoke_agent a{index}",
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": f"a{index}",
                "llmobserve.customer.id": customer,
            },
            trace_id=trace,
            span_id=root,
            start_ns=start,
        ),
        span(
            "chat gpt-4o",
            chat_attrs(
                "openai",
                "gpt-4o",
                0,
                output_tokens,
                **{"llmobserve.section.path": f"agent:a{index}/tool:t", "llmobserve.customer.id": customer},
            ),
            trace_id=trace,
            parent=root,
            start_ns=start + 1000,
        ),
    ]


def test_runs_pages_by_time_and_cost_with_filters(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    runs = [_run(i, out, "vip" if i % 2 else "std") for i, out in enumerate([100, 500, 300, 400, 200])]
    grpc_export(server.grpc_target, tenant_key, request(*[s for _, spans in runs for s in spans]).SerializeToString())
    ids = [trace for trace, _ in runs]

    seen, cursor = [], None
    while True:
        params = {**WIDE, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = server.get("/api/v1/traces", tenant_key, **params).json()
        seen += [r["trace_id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]  # newest first, every run exactly once

    by_cost = server.get("/api/v1/traces", tenant_key, sort="cost", **WIDE).json()["data"]
    assert [r["trace_id"] for r in by_cost] == [ids[1], ids[3], ids[2], ids[4], ids[0]]
    top = by_cost[0]
    assert top["cost_usd"] == 0.005 and top["llm_calls"] == 1 and top["errors"] == 0  # 500 x $10 / M
    assert top["root_name"] == "invoke_agent a1" and top["top_section"] == "agent:a1/tool:t"
    second = server.get("/api/v1/traces", tenant_key, sort="cost", limit=1, **WIDE).json()
    assert [
        r["trace_id"]
        for r in server.get(
            "/api/v1/traces", tenant_key, sort="cost", limit=1, cursor=second["next_cursor"], **WIDE
        ).json()["data"]
    ] == [ids[3]]
    vip = server.get("/api/v1/traces", tenant_key, customer="vip", **WIDE).json()["data"]
    assert {r["trace_id"] for r in vip} == {ids[1], ids[3]}


def test_runs_errors_and_isolation(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    trace, spans = _run(0, 100, "x")
    _, more = _run(1, 200, "x")
    grpc_export(server.grpc_target, tenant_key, request(*spans, *more).SerializeToString())
    other = server.create_key("runs-other-tenant")
    assert trace not in server.get("/api/v1/traces", other, **WIDE).text
    assert server.get("/api/v1/traces", tenant_key, cursor="garbage").status_code == 400
    time_cursor = server.get("/api/v1/traces", tenant_key, limit=1, **WIDE).json()["next_cursor"]
    assert time_cursor is not None  # two runs, one per page
    assert server.get("/api/v1/traces", tenant_key, sort="cost", cursor=time_cursor).status_code == 400
    assert server.get("/api/v1/traces", tenant_key, limit=0).status_code == 422
