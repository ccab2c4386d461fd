"""GET /api/v1/traces/{id}: the run as a tree, each node with its own and its subtree cost."""

from __future__ import annotations

import os

from tests.otlp_helpers import chat_attrs, grpc_export, request, span

GPT4O = chat_attrs("openai", "gpt-4o", 1000, 500, **{"gen_ai.usage.cache_read.input_tokens": 200})  # $0.00725
MINI = chat_attrs("openai", "gpt-4o-mini", 3000, 200)  # $0.00057


def test_tree_nests_children_and_rolls_cost_up(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    trace, root, tool = os.urandom(16), os.urandom(8), os.urandom(8)
    spans = [
        span(
            "invoke_agent research",
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "research"},
            trace_id=trace,
            span_id=root,
        ),
        span("chat gpt-4o", GPT4O, trace_id=trace, parent=root),
        span(
            "execute_tool search",
            {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"},
            trace_id=trace,
            span_id=tool,
            parent=root,
        ),
        span("chat gpt-4o-mini", MINI, trace_id=trace, parent=tool),
        span("chat mystery", chat_attrs("openai", "mystery-model", 10, 10), trace_id=trace, parent=tool),
    ]
    # children first, parent last: exporters send spans as they end
    grpc_export(server.grpc_target, tenant_key, request(*spans[1:]).SerializeToString())
    orphans = server.get(f"/api/v1/traces/{trace.hex()}", tenant_key).json()
    assert orphans["spans"] == 4 and len(orphans["roots"]) == 2  # root not here yet: its children stand alone
    grpc_export(server.grpc_target, tenant_key, request(spans[0]).SerializeToString())

    body = server.get(f"/api/v1/traces/{trace.hex()}", tenant_key).json()
    assert body["spans"] == 5 and body["total_cost_usd"] == 0.00782
    [top] = body["roots"]
    assert top["name"] == "invoke_agent research" and top["cost_usd"] == 0 and top["subtree_cost_usd"] == 0.00782
    by_name = {c["name"]: c for c in top["children"]}
    assert by_name["chat gpt-4o"]["cost_usd"] == 0.00725 and by_name["chat gpt-4o"]["cached_tokens"] == 200
    tool_node = by_name["execute_tool search"]
    assert tool_node["subtree_cost_usd"] == 0.00057 and len(tool_node["children"]) == 2
    mystery = next(c for c in tool_node["children"] if c["model"] == "mystery-model")
    assert mystery["unpriced"] is True and mystery["cost_usd"] == 0


def test_other_tenants_and_bad_ids_get_clean_errors(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    trace = os.urandom(16)
    grpc_export(server.grpc_target, tenant_key, request(span(attrs=GPT4O, trace_id=trace)).SerializeToString())
    other = server.create_key("trace-other-tenant")
    mine = server.get(f"/api/v1/traces/{trace.hex()}", tenant_key)
    theirs = server.get(f"/api/v1/traces/{trace.hex()}", other)
    missing = server.get(f"/api/v1/traces/{os.urandom(16).hex()}", other)
    assert mine.status_code == 200
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"] == missing.json()["error"] == "not_found"
    assert trace.hex() not in theirs.text.replace(f"no trace {trace.hex()}", "")
    assert server.get("/api/v1/traces/not-hex", tenant_key).status_code == 400
