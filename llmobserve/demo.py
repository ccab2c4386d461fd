"""``llmobserve demo``: a realistic multi-agent workload sent through the real OTel SDK + OTLP exporter.

Spans look like what ``instrumentation`` and other GenAI instrumentations emit: ``invoke_agent``
spans with ``gen_ai.agent.name``, ``execute_tool`` spans, and ``chat {model}`` CLIENT spans with
``gen_ai.*`` usage, labelled with ``llmobserve.customer.id`` and ``llmobserve.section.path``; agent runs
name their conversation (``gen_ai.conversation.id``).
"""

from __future__ import annotations

import random
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the OTel SDK loads only when a demo runs
    from opentelemetry.trace import Tracer

__all__ = ["run_demo", "DEMO_MODELS", "DEMO_AGENTS"]

DEMO_MODELS = [
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "gpt-4o-mini"),
    ("openai", "o3-mini"),
    ("anthropic", "claude-3-5-sonnet-20241022"),
    ("anthropic", "claude-3-5-haiku-20241022"),
    ("gcp.gemini", "gemini-1.5-pro"),
    ("mistral_ai", "mistral-large-latest"),
    ("groq", "llama-3.1-8b-instant"),
    ("deepseek", "deepseek-chat"),
]
DEMO_AGENTS = {
    "research_agent": ["web_search", "fetch_page"],
    "writer_agent": ["style_check"],
    "support_agent": ["lookup_order", "refund"],
    "planner": [],
}
DEMO_CUSTOMERS = ["acme-corp", "globex", "initech", "umbrella", "stark-industries"]


def _llm_call(tracer: Tracer, rng: random.Random, section: str, customer: str, failed: bool = False) -> None:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    provider, model = rng.choice(DEMO_MODELS)
    input_tokens = rng.randint(200, 12_000)
    output_tokens = rng.randint(20, 1_500)
    attrs: dict[str, str] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "llmobserve.customer.id": customer,
        "llmobserve.section.path": section,
    }
    with tracer.start_as_current_span(f"chat {model}", kind=SpanKind.CLIENT, attributes=attrs) as span:
        if failed:
            span.set_attribute("http.response.status_code", 429)
            span.set_attribute("error.type", "429")
            span.set_status(Status(StatusCode.ERROR, "rate limited"))
            return
        span.set_attribute("gen_ai.response.model", model)
        span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
        span.set_attribute("http.response.status_code", 200)
        if rng.random() < 0.35:
            span.set_attribute("gen_ai.usage.cache_read.input_tokens", input_tokens // 2)
        if provider == "anthropic" and rng.random() < 0.2:
            span.set_attribute("gen_ai.usage.cache_creation.input_tokens", input_tokens // 4)
        if model.startswith("o3"):
            span.set_attribute("gen_ai.usage.reasoning.output_tokens", output_tokens // 2)


def _run(tracer: Tracer, rng: random.Random) -> None:
    from opentelemetry.trace import SpanKind

    agent = rng.choice(list(DEMO_AGENTS))
    customer = rng.choice(DEMO_CUSTOMERS)
    section = f"agent:{agent}"
    agent_attrs = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": agent,
        "llmobserve.customer.id": customer,
        "llmobserve.section.path": section,
        # a conversation per customer and agent; the LLM spans below inherit it (group_by=session)
        "gen_ai.conversation.id": f"conv_{customer}_{agent}",
    }
    with tracer.start_as_current_span(f"invoke_agent {agent}", kind=SpanKind.INTERNAL, attributes=agent_attrs):
        for _ in range(rng.randint(1, 3)):
            _llm_call(tracer, rng, section, customer, failed=rng.random() < 0.04)
        for tool in DEMO_AGENTS[agent]:
            tool_section = f"{section}/tool:{tool}"
            tool_attrs = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": tool,
                "llmobserve.customer.id": customer,
                "llmobserve.section.path": tool_section,
            }
            with tracer.start_as_current_span(f"execute_tool {tool}", attributes=tool_attrs):
                if rng.random() < 0.5:
                    _llm_call(tracer, rng, tool_section, customer)
    if rng.random() < 0.25:  # app code outside any agent: shows up as 'untracked'
        with tracer.start_as_current_span("summarize_ticket", kind=SpanKind.INTERNAL):
            _llm_call(tracer, rng, "", customer)


def run_demo(endpoint: str | None, api_key: str | None, protocol: str = "grpc", runs: int = 40, seed: int = 7) -> int:
    """Send ``runs`` agent runs; endpoint and key resolve as the SDK's (argument > LLMOBSERVE_* > default)."""
    from llmobserve.instrumentation import NoApiKeyError, export_target, span_exporter

    try:
        target, key = export_target(api_key, endpoint, protocol)
    except NoApiKeyError:
        print(
            "error: pass --api-key or set LLMOBSERVE_API_KEY (the key printed by 'llmobserve serve' "
            "or 'llmobserve keys create')",
            file=sys.stderr,
        )
        return 2
    except ValueError as exc:
        print(f"error: --endpoint: {exc}", file=sys.stderr)
        return 2
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from ._counting_exporter import CountingExporter  # the OTel SDK loads only when a demo runs

    provider = TracerProvider(resource=Resource.create({"service.name": "llmobserve-demo"}))
    exporter = CountingExporter(span_exporter(protocol, target, key))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("llmobserve.demo")
    rng = random.Random(seed)
    started = time.perf_counter()
    for _ in range(runs):
        _run(tracer, rng)
    provider.force_flush(timeout_millis=60_000)
    provider.shutdown()
    elapsed = time.perf_counter() - started
    if exporter.failed_batches or not exporter.spans:
        print(
            f"error: {exporter.failed_batches} batches were not accepted by {target} "
            "(is 'llmobserve serve' running, and is the API key right?)",
            file=sys.stderr,
        )
        return 1
    print(f"sent {exporter.spans} spans ({runs} agent runs) to {target} over {protocol} in {elapsed:.1f}s")
    return 0
