"""``semconv.normalize``: model, provider, operation, agent/tool, customer, section and misc fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from llmobserve.semconv import (
    GROUPING_OPERATIONS,
    INFERENCE_OPERATIONS,
    agent_from_section,
    normalize,
    normalize_provider,
    tool_from_section,
)

# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "request_model", "response_model", "model"),
    [
        ({"gen_ai.request.model": "gpt-4o"}, "gpt-4o", "", "gpt-4o"),
        ({"gen_ai.response.model": "gpt-4o-2024-08-06"}, "", "gpt-4o-2024-08-06", "gpt-4o-2024-08-06"),
        ({"llm.model_name": "claude-sonnet-4"}, "claude-sonnet-4", "", "claude-sonnet-4"),
        (
            {"llm.response.model_name": "claude-sonnet-4-20250514"},
            "",
            "claude-sonnet-4-20250514",
            "claude-sonnet-4-20250514",
        ),
        # response beats request, within and across conventions
        (
            {"gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06"},
            "gpt-4o",
            "gpt-4o-2024-08-06",
            "gpt-4o-2024-08-06",
        ),
        ({"llm.model_name": "c", "llm.response.model_name": "c-1"}, "c", "c-1", "c-1"),
        ({"gen_ai.request.model": "req", "llm.response.model_name": "resp"}, "req", "resp", "resp"),
        ({"llm.model_name": "req", "gen_ai.response.model": "resp"}, "req", "resp", "resp"),
        # an empty response model does not hide the request model
        ({"gen_ai.request.model": "gpt-4o", "gen_ai.response.model": ""}, "gpt-4o", "", "gpt-4o"),
        ({}, "", "", ""),
    ],
)
def test_model(attrs: dict[str, Any], request_model: str, response_model: str, model: str) -> None:
    rec = normalize(attrs)
    assert (rec.request_model, rec.response_model, rec.model) == (request_model, response_model, model)


def test_otel_model_beats_openinference_model() -> None:
    rec = normalize({"llm.model_name": "oi", "gen_ai.request.model": "otel"})
    assert rec.request_model == "otel"
    rec = normalize({"llm.response.model_name": "oi", "gen_ai.response.model": "otel"})
    assert rec.response_model == "otel"


# --------------------------------------------------------------------------------------------
# Provider
# --------------------------------------------------------------------------------------------

OTEL_PROVIDERS = [
    "openai", "anthropic", "cohere", "gcp.gen_ai", "gcp.vertex_ai", "gcp.gemini", "azure.ai.inference",
    "azure.ai.openai", "ibm.watsonx.ai", "aws.bedrock", "perplexity", "x_ai", "deepseek", "groq",
    "mistral_ai", "moonshot_ai",
]  # fmt: skip

DEPRECATED_SYSTEMS = [
    ("xai", "x_ai"),
    ("vertex_ai", "gcp.vertex_ai"),
    ("gemini", "gcp.gemini"),
    ("az.ai.openai", "azure.ai.openai"),
    ("az.ai.inference", "azure.ai.inference"),
]


@pytest.mark.parametrize("key", ["gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"])
def test_provider_spelling_is_read(key: str) -> None:
    assert normalize({key: "anthropic"}).provider == "anthropic"


@pytest.mark.parametrize("value", OTEL_PROVIDERS)
def test_otel_provider_values_pass_through(value: str) -> None:
    assert normalize({"gen_ai.provider.name": value}).provider == value
    assert normalize_provider(value) == value


@pytest.mark.parametrize(("deprecated", "current"), DEPRECATED_SYSTEMS)
@pytest.mark.parametrize("key", ["gen_ai.system", "gen_ai.provider.name", "llm.provider", "llm.system"])
def test_deprecated_system_values_are_mapped(key: str, deprecated: str, current: str) -> None:
    assert normalize({key: deprecated}).provider == current


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("OpenAI", "openai"),
        ("  Anthropic ", "anthropic"),
        ("XAI", "x_ai"),
        ("ollama", "ollama"),
        ("together", "together"),
    ],
)
def test_provider_is_lower_cased_and_unknown_passes_through(raw: str, expected: str) -> None:
    assert normalize({"gen_ai.system": raw}).provider == expected


def test_provider_precedence() -> None:
    assert normalize({"gen_ai.system": "xai", "gen_ai.provider.name": "openai"}).provider == "openai"
    assert normalize({"llm.provider": "cohere", "gen_ai.system": "gemini"}).provider == "gcp.gemini"
    assert normalize({"llm.system": "openai", "llm.provider": "anthropic"}).provider == "anthropic"


def test_provider_absent_is_empty() -> None:
    assert normalize({}).provider == ""


# --------------------------------------------------------------------------------------------
# Operation
# --------------------------------------------------------------------------------------------

OTEL_OPERATIONS = [
    "chat", "generate_content", "text_completion", "embeddings", "retrieval",
    "create_agent", "invoke_agent", "invoke_workflow", "execute_tool",
]  # fmt: skip


@pytest.mark.parametrize("value", OTEL_OPERATIONS)
def test_gen_ai_operation_name_passes_through(value: str) -> None:
    assert normalize({"gen_ai.operation.name": value}).operation == value


def test_every_otel_operation_is_classified() -> None:
    for op in OTEL_OPERATIONS:
        assert (op in INFERENCE_OPERATIONS) != (op in GROUPING_OPERATIONS), op


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("llm.request.type", "chat", "chat"),
        ("llm.request.type", "completion", "text_completion"),
        ("llm.request.type", "embedding", "embeddings"),
        ("llm.request.type", "rerank", "rerank"),
        ("openinference.span.kind", "LLM", "chat"),
        ("openinference.span.kind", "AGENT", "invoke_agent"),
        ("openinference.span.kind", "TOOL", "execute_tool"),
        ("openinference.span.kind", "EMBEDDING", "embeddings"),
        ("openinference.span.kind", "CHAIN", "chain"),
        ("openinference.span.kind", "RETRIEVER", "retrieval"),
        ("openinference.span.kind", "RERANKER", "rerank"),
        ("traceloop.span.kind", "agent", "invoke_agent"),
        ("traceloop.span.kind", "tool", "execute_tool"),
        ("traceloop.span.kind", "workflow", "invoke_workflow"),
        ("traceloop.span.kind", "task", "task"),
    ],
)
def test_operation_alias(key: str, raw: str, expected: str) -> None:
    assert normalize({key: raw}).operation == expected


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"gen_ai.operation.name": "chat", "llm.request.type": "embedding"}, "chat"),
        ({"gen_ai.operation.name": "invoke_agent", "openinference.span.kind": "LLM"}, "invoke_agent"),
        ({"llm.request.type": "chat", "openinference.span.kind": "AGENT"}, "chat"),
        ({"llm.request.type": "chat", "traceloop.span.kind": "tool"}, "chat"),
        ({"openinference.span.kind": "LLM", "traceloop.span.kind": "agent"}, "chat"),
        ({"gen_ai.operation.name": "", "llm.request.type": "completion"}, "text_completion"),
        ({}, ""),
    ],
)
def test_operation_precedence(attrs: dict[str, Any], expected: str) -> None:
    assert normalize(attrs).operation == expected


# --------------------------------------------------------------------------------------------
# Agent and tool
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"gen_ai.agent.name": "research"}, "research"),
        ({"traceloop.span.kind": "agent", "traceloop.entity.name": "research"}, "research"),
        ({"agent.name": "research"}, "research"),
        ({"llmobserve.section.path": "agent:research"}, "research"),
        ({"llmobserve.section_path": "agent:research"}, "research"),
        ({"llmobserve.section.path": "agent:outer/agent:research/tool:search"}, "research"),
        # precedence: gen_ai.agent.name > traceloop > agent.name > section path
        (
            {
                "gen_ai.agent.name": "otel",
                "traceloop.span.kind": "agent",
                "traceloop.entity.name": "tl",
                "agent.name": "oi",
                "llmobserve.section.path": "agent:sec",
            },
            "otel",
        ),
        (
            {
                "traceloop.span.kind": "agent",
                "traceloop.entity.name": "tl",
                "agent.name": "oi",
                "llmobserve.section.path": "agent:sec",
            },
            "tl",
        ),
        ({"agent.name": "oi", "llmobserve.section.path": "agent:sec"}, "oi"),
        # traceloop.entity.name names the agent only on agent spans
        ({"traceloop.span.kind": "tool", "traceloop.entity.name": "search"}, ""),
        ({"traceloop.span.kind": "workflow", "traceloop.entity.name": "pipeline"}, ""),
        ({"traceloop.entity.name": "x"}, ""),
        ({"gen_ai.agent.name": "", "agent.name": "oi"}, "oi"),
        ({}, ""),
    ],
)
def test_agent(attrs: dict[str, Any], expected: str) -> None:
    assert normalize(attrs).agent == expected


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"gen_ai.tool.name": "search"}, "search"),
        ({"traceloop.span.kind": "tool", "traceloop.entity.name": "search"}, "search"),
        ({"tool.name": "search"}, "search"),
        ({"llmobserve.section.path": "agent:research/tool:search"}, "search"),
        ({"llmobserve.section_path": "tool:search"}, "search"),
        ({"llmobserve.section.path": "tool:outer/agent:a/tool:inner"}, "inner"),
        (
            {
                "gen_ai.tool.name": "otel",
                "traceloop.span.kind": "tool",
                "traceloop.entity.name": "tl",
                "tool.name": "oi",
                "llmobserve.section.path": "tool:sec",
            },
            "otel",
        ),
        ({"traceloop.span.kind": "tool", "traceloop.entity.name": "tl", "tool.name": "oi"}, "tl"),
        ({"tool.name": "oi", "llmobserve.section.path": "tool:sec"}, "oi"),
        ({"traceloop.span.kind": "agent", "traceloop.entity.name": "research"}, ""),
        ({"llmobserve.section.path": "agent:research"}, ""),
        ({}, ""),
    ],
)
def test_tool(attrs: dict[str, Any], expected: str) -> None:
    assert normalize(attrs).tool == expected


@pytest.mark.parametrize(
    ("path", "agent", "tool"),
    [
        ("", "", ""),
        ("agent:research", "research", ""),
        ("tool:search", "", "search"),
        ("agent:research/tool:search", "research", "search"),
        ("agent:a/agent:b", "b", ""),
        ("agent:a/agent:b/tool:t", "b", "t"),
        ("agent:a/tool:t/agent:b", "b", "t"),
        ("agent:a/tool:t1/tool:t2", "a", "t2"),
        ("agent:a/step:plan/summarize", "a", ""),
        ("checkout/step:plan", "", ""),
        ("agent:multi word name/tool:web.search", "multi word name", "web.search"),
        ("agent:a:b", "a:b", ""),
        ("myagent:x/mytool:y", "", ""),
    ],
)
def test_innermost_agent_and_tool_from_section(path: str, agent: str, tool: str) -> None:
    assert agent_from_section(path) == agent
    assert tool_from_section(path) == tool
    rec = normalize({"llmobserve.section.path": path})
    assert (rec.agent, rec.tool, rec.section_path) == (agent, tool, path)


def test_explicit_agent_beats_section_but_section_still_gives_tool() -> None:
    rec = normalize({"gen_ai.agent.name": "explicit", "llmobserve.section.path": "agent:sec/tool:search"})
    assert (rec.agent, rec.tool) == ("explicit", "search")


# --------------------------------------------------------------------------------------------
# Customer, section path, batch, service tier, HTTP status, error type
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"llmobserve.customer.id": "acme"}, "acme"),
        ({"llmobserve.customer_id": "acme"}, "acme"),
        ({"llmobserve.customer.id": "new", "llmobserve.customer_id": "legacy"}, "new"),
        ({"llmobserve.customer.id": "", "llmobserve.customer_id": "legacy"}, "legacy"),
        ({"llmobserve.customer.id": 42}, "42"),
        ({}, ""),
    ],
)
def test_customer(attrs: dict[str, Any], expected: str) -> None:
    assert normalize(attrs).customer == expected


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"llmobserve.section.path": "agent:a/tool:t"}, "agent:a/tool:t"),
        ({"llmobserve.section_path": "agent:a/tool:t"}, "agent:a/tool:t"),
        ({"llmobserve.section.path": "agent:new", "llmobserve.section_path": "agent:legacy"}, "agent:new"),
        ({}, ""),
    ],
)
def test_section_path(attrs: dict[str, Any], expected: str) -> None:
    assert normalize(attrs).section_path == expected


def test_section_path_precedence_drives_agent() -> None:
    rec = normalize({"llmobserve.section_path": "agent:legacy", "llmobserve.section.path": "agent:new"})
    assert rec.agent == "new"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), ("true", True), ("True", True), ("TRUE", True), ("1", True), (1, True),
     (False, False), ("false", False), (0, False), ("0", False), ("", False), ("no", False), (None, False)],
)  # fmt: skip
def test_batch(raw: Any, expected: bool) -> None:
    assert normalize({"llmobserve.batch": raw}).is_batch is expected


@pytest.mark.parametrize("raw", [[True], ["true"], {"a": 1}, Decimal("sNaN")], ids=repr)
def test_batch_garbage_is_false_not_an_error(raw: Any) -> None:
    assert normalize({"llmobserve.batch": raw}).is_batch is False


def test_batch_absent_is_false() -> None:
    assert normalize({}).is_batch is False


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"openai.request.service_tier": "flex"}, "flex"),
        ({"gen_ai.openai.request.service_tier": "priority"}, "priority"),
        ({"openai.request.service_tier": "flex", "gen_ai.openai.request.service_tier": "default"}, "flex"),
        ({}, ""),
    ],
)
def test_service_tier(attrs: dict[str, Any], expected: str) -> None:
    assert normalize(attrs).service_tier == expected


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"http.response.status_code": 200}, 200),
        ({"http.response.status_code": "429"}, 429),
        ({"http.status_code": 503}, 503),
        ({"http.response.status_code": 500, "http.status_code": 200}, 500),
        ({"http.response.status_code": "garbage"}, 0),
        ({}, 0),
    ],
)
def test_http_status(attrs: dict[str, Any], expected: int) -> None:
    assert normalize(attrs).http_status == expected


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"error.type": "RateLimitError"}, "RateLimitError"),
        ({"error.type": "429"}, "429"),
        ({"error.type": 500}, "500"),
        ({}, ""),
    ],
)
def test_error_type(attrs: dict[str, Any], expected: str) -> None:
    assert normalize(attrs).error_type == expected


def test_langgraph_graph_and_nodes_from_openinference_metadata_and_openllmetry_properties() -> None:
    import json

    from llmobserve.semconv import normalize

    graph = normalize(
        {
            "openinference.span.kind": "CHAIN",
            "metadata": json.dumps({"thread_id": "s1", "ls_integration": "langgraph"}),
        },
        "support_bot",
    )
    assert (graph.agent, graph.section_path) == ("support_bot", "agent:support_bot")
    node = normalize(
        {"metadata": json.dumps({"langgraph_node": "triage", "ls_integration": "langgraph"})}, "ChatOpenAI"
    )
    assert (node.agent, node.section_path) == ("", "node:triage")
    traceloop = normalize(
        {
            "traceloop.association.properties.langgraph_node": "answer",
            "traceloop.association.properties.user_id": "u1",
            "traceloop.association.properties.thread_id": "s1",
        }
    )
    assert (traceloop.section_path, traceloop.customer, traceloop.session) == ("node:answer", "u1", "s1")
    # not LangGraph, too big or not JSON: nothing read, nothing raised
    for meta in ('{"user_id": "u1"}', "langgraph" + "x" * 70_000, "{langgraph", "[1]"):
        assert normalize({"metadata": meta}, "name").section_path == ""


def test_openinference_agent_spans_named_by_graph_node_id() -> None:
    from llmobserve.semconv import normalize

    assert normalize({"openinference.span.kind": "AGENT", "graph.node.id": "support_bot"}).agent == "support_bot"
    assert normalize({"openinference.span.kind": "CHAIN", "graph.node.id": "step"}).agent == ""
