"""Foreign LLM spans over OTLP: an OpenInference-style LLM span with no agent of its own lands on
its nearest ancestor agent, although the agent span is exported later (parents end last)."""

from __future__ import annotations

import os
import time
from decimal import Decimal

from tests.otlp_helpers import breakdown, grpc_export, request, span

# OpenInference's attribute names, not ours: the receiver normalises them
FOREIGN_LLM = {
    "openinference.span.kind": "LLM",
    "llm.provider": "openai",
    "llm.model_name": "gpt-4o",
    "llm.token_count.prompt": 1000,
    "llm.token_count.completion": 100,
}  # $0.0035


def _agents(server, key) -> dict[str, tuple[Decimal, int]]:  # type: ignore[no-untyped-def]
    return breakdown(server.http_url, key, "agent")


def test_foreign_llm_span_is_attributed_to_the_agent_exported_after_it(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    trace, agent_id, chain_id = os.urandom(16), os.urandom(8), os.urandom(8)
    grpc_export(
        server.grpc_target,
        tenant_key,
        request(
            span("ChatOpenAI", FOREIGN_LLM, trace_id=trace, parent=chain_id),
            span(
                "RunnableSequence",
                {"openinference.span.kind": "CHAIN"},
                trace_id=trace,
                span_id=chain_id,
                parent=agent_id,
            ),
        ).SerializeToString(),
    )
    assert _agents(server, tenant_key) == {"untracked": (Decimal("0.0035"), 1)}

    grpc_export(
        server.grpc_target,
        tenant_key,
        request(
            span(
                "invoke_agent research",
                {
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.name": "research",
                    "llmobserve.customer.id": "cust_42",
                },
                trace_id=trace,
                span_id=agent_id,
            ),
        ).SerializeToString(),
    )
    deadline = time.monotonic() + 20  # attribution runs in the server's background pass (every second)
    while _agents(server, tenant_key) != {"research": (Decimal("0.0035"), 1)} and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _agents(server, tenant_key) == {"research": (Decimal("0.0035"), 1)}
    assert breakdown(server.http_url, tenant_key, "customer") == {"cust_42": (Decimal("0.0035"), 1)}
    tree = server.get(f"/api/v1/traces/{trace.hex()}", tenant_key).json()
    assert tree["spans"] == 3 and tree["roots"][0]["subtree_cost_usd"] == 0.0035
    llm = tree["roots"][0]["children"][0]["children"][0]
    assert (llm["agent"], llm["customer"], llm["cost_usd"]) == ("research", "cust_42", 0.0035)
