"""Realistic GenAI agent traffic as pre-serialized OTLP requests (after shared/bench/otlp_load.py).

Each trace: an invoke_agent span → 3 chat spans (mixed providers/models, some with cache and
reasoning tokens) → 1 execute_tool span. Deterministic for a given seed.
"""

from __future__ import annotations

import random
import time

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.common.v1 import common_pb2 as cp
from opentelemetry.proto.resource.v1 import resource_pb2 as rp
from opentelemetry.proto.trace.v1 import trace_pb2 as tp

from tests.otlp_helpers import kv

MODELS = [
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-3-5-sonnet-20241022"),
    ("anthropic", "claude-3-5-haiku-20241022"),
    ("gcp.gemini", "gemini-1.5-pro"),
    ("mistral_ai", "mistral-large-latest"),
    ("openai", "o1-mini"),
    ("groq", "llama-3.1-8b-instant"),
]
AGENTS = ["research_agent", "writer_agent", "support_agent", "planner"]
CUSTOMERS = [f"cust_{i:03d}" for i in range(50)]
SPANS_PER_TRACE = 5
LLM_SPANS_PER_TRACE = 3


def make_trace(rng: random.Random, t0: int) -> list[tp.Span]:
    tid, root = rng.randbytes(16), rng.randbytes(8)
    agent, cust = rng.choice(AGENTS), rng.choice(CUSTOMERS)
    common = [kv("llmobserve.customer.id", cust), kv("llmobserve.section.path", "agent:" + agent)]
    spans = [
        tp.Span(
            trace_id=tid,
            span_id=root,
            name="invoke_agent " + agent,
            kind=tp.Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=t0,
            end_time_unix_nano=t0 + 4_000_000_000,
            attributes=[kv("gen_ai.operation.name", "invoke_agent"), kv("gen_ai.agent.name", agent)] + common,
        )
    ]
    for i in range(LLM_SPANS_PER_TRACE):
        provider, model = rng.choice(MODELS)
        inp, out = rng.randint(50, 20000), rng.randint(10, 2000)
        attrs = [
            kv("gen_ai.operation.name", "chat"),
            kv("gen_ai.provider.name", provider),
            kv("gen_ai.request.model", model),
            kv("gen_ai.response.model", model),
            kv("gen_ai.usage.input_tokens", inp),
            kv("gen_ai.usage.output_tokens", out),
            kv("gen_ai.request.temperature", 0.2),
            kv("gen_ai.response.id", f"resp_{rng.getrandbits(48):x}"),
            kv("server.address", "api.example.test"),
            kv("http.response.status_code", 200),
        ] + common
        if rng.random() < 0.3:
            attrs.append(kv("gen_ai.usage.cache_read.input_tokens", inp // 2))
        if model.startswith("o1") and rng.random() < 0.8:
            attrs.append(kv("gen_ai.usage.reasoning.output_tokens", out // 2))
        start = t0 + i * 1_000_000_000
        spans.append(
            tp.Span(
                trace_id=tid,
                span_id=rng.randbytes(8),
                parent_span_id=root,
                name="chat " + model,
                kind=tp.Span.SPAN_KIND_CLIENT,
                start_time_unix_nano=start,
                end_time_unix_nano=start + 900_000_000,
                attributes=attrs,
            )
        )
    start = t0 + 3_100_000_000
    spans.append(
        tp.Span(
            trace_id=tid,
            span_id=rng.randbytes(8),
            parent_span_id=root,
            name="execute_tool web_search",
            kind=tp.Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=start,
            end_time_unix_nano=start + 500_000_000,
            attributes=[kv("gen_ai.operation.name", "execute_tool"), kv("gen_ai.tool.name", "web_search")] + common,
        )
    )
    return spans


def build_requests(n_spans: int, batch: int, seed: int, t0: int | None = None) -> list[tuple[bytes, int]]:
    """(serialized ExportTraceServiceRequest, span count) pairs holding exactly ``n_spans`` spans."""
    rng = random.Random(seed)
    t0 = t0 or time.time_ns() - 3600 * 10**9
    resource = rp.Resource(attributes=[kv("service.name", "bench-app"), kv("deployment.environment", "bench")])
    out, current, made = [], [], 0
    while made < n_spans:
        for s in make_trace(rng, t0 + made * 1_000_000):
            if made >= n_spans:
                break
            current.append(s)
            made += 1
            if len(current) == batch:
                out.append(current)
                current = []
    if current:
        out.append(current)
    return [
        (
            ts.ExportTraceServiceRequest(
                resource_spans=[
                    tp.ResourceSpans(
                        resource=resource,
                        scope_spans=[
                            tp.ScopeSpans(scope=cp.InstrumentationScope(name="bench", version="1"), spans=spans)
                        ],
                    )
                ]
            ).SerializeToString(),
            len(spans),
        )
        for spans in out
    ]


def llm_span_count(n_spans: int) -> int:
    """How many of the first ``n_spans`` generated spans are LLM calls."""
    full, rest = divmod(n_spans, SPANS_PER_TRACE)
    return full * LLM_SPANS_PER_TRACE + min(max(rest - 1, 0), LLM_SPANS_PER_TRACE)
