"""Real OTel SDK exporters (gRPC and HTTP) → live ``llmobserve serve`` → breakdown endpoint.

Expected costs are computed from the providers' published prices (tests/prices.py),
independently of the server's catalogue.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from grpc import Compression
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests import prices
from tests.otlp_helpers import breakdown


@dataclass(frozen=True)
class Call:
    provider: str
    model: str
    agent: str  # expected agent key
    customer: str
    input: int = 0
    cache_read: int = 0
    cache_write: int = 0
    output: int = 0
    failed: bool = False
    unknown: bool = False

    def cost(self) -> Decimal:
        if self.failed or self.unknown:
            return Decimal(0)
        return prices.cost(self.model, self.input, self.output, self.cache_read, self.cache_write)


def _llm(tracer, call: Call, section: str = "", agent_attr: str = "", deprecated: bool = False) -> None:  # type: ignore[no-untyped-def]
    attrs: dict[str, object] = {"gen_ai.operation.name": "chat", "gen_ai.request.model": call.model}
    attrs["gen_ai.system" if deprecated else "gen_ai.provider.name"] = call.provider
    if call.customer != "untracked":
        attrs["llmobserve.customer.id"] = call.customer
    if section:
        attrs["llmobserve.section.path"] = section
    if agent_attr:
        attrs["gen_ai.agent.name"] = agent_attr
    with tracer.start_as_current_span(f"chat {call.model}", kind=SpanKind.CLIENT, attributes=attrs) as span:
        if call.failed:
            span.set_attribute("http.response.status_code", 429)
            span.set_attribute("error.type", "429")
            span.set_status(Status(StatusCode.ERROR, "rate limited"))
            return
        prefix = "gen_ai.usage."
        span.set_attribute(prefix + ("prompt_tokens" if deprecated else "input_tokens"), call.input)
        span.set_attribute(prefix + ("completion_tokens" if deprecated else "output_tokens"), call.output)
        if call.cache_read:
            span.set_attribute(prefix + "cache_read.input_tokens", call.cache_read)
        if call.cache_write:
            span.set_attribute(prefix + "cache_creation.input_tokens", call.cache_write)


def _provider(exporter) -> TracerProvider:  # type: ignore[no-untyped-def]
    provider = TracerProvider(resource=Resource.create({"service.name": "e2e-app"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


GRPC_CALLS = [
    Call("openai", "gpt-4o", "research", "c1", input=1000, cache_read=200, output=500),
    Call("openai", "gpt-4o-mini", "research", "c1", input=3000, output=200),
    Call(
        "anthropic",
        "claude-3-5-sonnet-20241022",
        "writer",
        "c2",
        input=5000,
        cache_read=1000,
        cache_write=2000,
        output=800,
    ),
    Call("gcp.gemini", "gemini-1.5-pro", "untracked", "c3", input=10_000, output=1000),
    Call("mistral_ai", "mistral-large-latest", "planner", "c2", input=2000, output=300),
    Call("groq", "llama-3.1-8b-instant", "planner", "c1", failed=True),
    Call("openai", "my-private-finetune-zz9", "untracked", "untracked", input=100, output=100, unknown=True),
]
HTTP_CALLS = [
    Call("anthropic", "claude-3-5-haiku-20241022", "support", "c1", input=4000, cache_read=1000, output=1000),
    Call("openai", "gpt-4o", "support", "c3", input=1200, output=50),
]


def _send_grpc(server, key: str) -> None:  # type: ignore[no-untyped-def]
    provider = _provider(
        GrpcExporter(
            endpoint=f"http://{server.grpc_target}",
            insecure=True,
            headers={"authorization": f"Bearer {key}"},
            compression=Compression.Gzip,
        )
    )
    tracer = provider.get_tracer("e2e")
    research, gpt4o_mini_tool = GRPC_CALLS[0], GRPC_CALLS[1]
    # An agent span that reports its children's usage as a roll-up: it must not be priced again.
    with tracer.start_as_current_span(
        "invoke_agent research",
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "research",
            "gen_ai.usage.input_tokens": 4000,
            "gen_ai.usage.output_tokens": 700,
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.provider.name": "openai",
        },
    ):
        _llm(tracer, research, section="agent:research")
        with tracer.start_as_current_span(
            "execute_tool search", attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}
        ):
            _llm(tracer, gpt4o_mini_tool, section="agent:research/tool:search")
    _llm(tracer, GRPC_CALLS[2], agent_attr="writer")  # agent named on the LLM span itself
    _llm(tracer, GRPC_CALLS[3])  # no agent at all: 'untracked'
    _llm(tracer, GRPC_CALLS[4], section="agent:planner/tool:lookup")
    _llm(tracer, GRPC_CALLS[5], section="agent:planner")
    _llm(tracer, GRPC_CALLS[6])
    provider.shutdown()


def _send_http(server, key: str) -> None:  # type: ignore[no-untyped-def]
    provider = _provider(
        HttpExporter(
            endpoint=f"{server.http_url}/v1/traces",
            headers={"authorization": f"Bearer {key}"},
            compression=HttpCompression.Gzip,
        )
    )
    tracer = provider.get_tracer("e2e")
    _llm(tracer, HTTP_CALLS[0], section="agent:support")
    _llm(tracer, HTTP_CALLS[1], section="agent:outer/agent:support", deprecated=True)
    provider.shutdown()


def _expected(calls: list[Call], field: str) -> dict[str, tuple[Decimal, int]]:
    out: dict[str, list] = defaultdict(lambda: [Decimal(0), 0])  # type: ignore[arg-type]
    for call in calls:
        key = {"provider": call.provider, "model": call.model, "agent": call.agent, "customer": call.customer}[field]
        out[key][0] += call.cost()
        out[key][1] += 1
    return {k: (Decimal(str(float(cost))), n) for k, (cost, n) in out.items()}


@pytest.fixture(scope="module")
def sent(server):  # type: ignore[no-untyped-def]
    key = server.create_key("e2e-exporters")
    _send_grpc(server, key)
    _send_http(server, key)
    return key


@pytest.mark.parametrize("group_by", ["provider", "model", "agent", "customer"])
def test_breakdown_matches_listed_prices(server, sent, group_by: str) -> None:  # type: ignore[no-untyped-def]
    assert breakdown(server.http_url, sent, group_by) == _expected(GRPC_CALLS + HTTP_CALLS, group_by)


def test_total_and_day_grouping(server, sent) -> None:  # type: ignore[no-untyped-def]
    total = sum((c.cost() for c in GRPC_CALLS + HTTP_CALLS), Decimal(0))
    body = server.get("/api/v1/costs/breakdown", sent, group_by="day").json()
    assert Decimal(str(body["total_cost_usd"])) == Decimal(str(float(total)))
    assert sum(row["calls"] for row in body["rows"]) == len(GRPC_CALLS + HTTP_CALLS)


def test_hand_computed_gpt4o_cached_case_is_0_00725(server, sent) -> None:  # type: ignore[no-untyped-def]
    assert GRPC_CALLS[0].cost() == Decimal("0.00725")
    model_rows = breakdown(server.http_url, sent, "model")
    expected_gpt4o = GRPC_CALLS[0].cost() + HTTP_CALLS[1].cost()
    assert model_rows["gpt-4o"] == (Decimal(str(float(expected_gpt4o))), 2)


def test_more_groupings_and_filters(server, sent) -> None:  # type: ignore[no-untyped-def]
    calls = GRPC_CALLS + HTTP_CALLS
    total = sum((c.cost() for c in calls), Decimal(0))
    sections = breakdown(server.http_url, sent, "section")
    assert sections["agent:research/tool:search"] == (Decimal(str(float(GRPC_CALLS[1].cost()))), 1)
    assert sections["untracked"][1] == 3  # writer (agent named on the span), gemini, the unknown model
    tools = breakdown(server.http_url, sent, "tool")
    assert tools["search"][1] == 1 and tools["lookup"][1] == 1
    assert breakdown(server.http_url, sent, "service") == {"e2e-app": (Decimal(str(float(total))), len(calls))}
    hours = breakdown(server.http_url, sent, "hour")
    assert sum(n for _, n in hours.values()) == len(calls) and all(k.endswith(":00:00Z") for k in hours)

    only_openai = breakdown(server.http_url, sent, "model", provider="openai")
    expected = sum((c.cost() for c in calls if c.provider == "openai"), Decimal(0))
    assert set(only_openai) == {"gpt-4o", "gpt-4o-mini", "my-private-finetune-zz9"}
    # rows are floats at the JSON edge: their sum equals the exact total to float precision
    assert abs(sum(cost for cost, _ in only_openai.values()) - expected) < Decimal("1e-12")
    untracked = breakdown(server.http_url, sent, "provider", agent="untracked")
    assert untracked == {"gcp.gemini": (Decimal(str(float(GRPC_CALLS[3].cost()))), 1), "openai": (Decimal(0), 1)}
    body = server.get("/api/v1/costs/breakdown", sent, group_by="model", customer="c1").json()
    assert {r["key"] for r in body["rows"]} == {
        "gpt-4o",
        "gpt-4o-mini",
        "llama-3.1-8b-instant",
        "claude-3-5-haiku-20241022",
    }
    assert next(r for r in body["rows"] if r["key"] == "gpt-4o")["cached_tokens"] == 200
