"""SDK fixtures: the stand-in provider, one ``observe()`` for the session, an in-memory copy of
every span the SDK emits (to inspect them), and helpers to read costs back from the receiver."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmobserve
from tests.otlp_helpers import breakdown
from tests.standin.provider import StandInProvider

_ids = itertools.count(1)


@dataclass
class SDK:
    observation: llmobserve.Observation
    memory: InMemorySpanExporter
    key: str
    server_url: str

    def flush(self) -> None:
        assert self.observation.flush(30_000)

    def costs(self, group_by: str) -> dict[str, tuple[Decimal, int]]:
        self.flush()
        return breakdown(self.server_url, self.key, group_by)

    def spans(self, name_prefix: str = "") -> list[ReadableSpan]:
        self.flush()
        return [s for s in self.memory.get_finished_spans() if s.name.startswith(name_prefix)]

    def span_for_customer(self, customer_id: str, name_prefix: str = "") -> list[ReadableSpan]:
        return [s for s in self.spans(name_prefix) if (s.attributes or {}).get("llmobserve.customer.id") == customer_id]

    def llm_spans(self, customer_id: str) -> list[ReadableSpan]:
        """Every span that describes one model call, whichever instrumentation made it."""
        return [
            s
            for s in self.span_for_customer(customer_id)
            if (s.attributes or {}).get("gen_ai.operation.name") in ("chat", "generate_content", "embeddings")
        ]


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


@pytest.fixture(scope="session")
def standin() -> Iterator[StandInProvider]:
    with StandInProvider() as provider:
        yield provider


def provider_urls(base: str) -> dict[str, str]:
    return {
        f"{base}/openai/v1": "openai",
        f"{base}/anthropic": "anthropic",
        f"{base}/gemini": "gcp.gemini",
        f"{base}/groq/openai/v1": "groq",
        f"{base}/mistral/v1": "mistral_ai",
        f"{base}/cohere": "cohere",
    }


@pytest.fixture(scope="session")
def sdk(server, standin) -> Iterator[SDK]:  # type: ignore[no-untyped-def]
    key = server.create_key("sdk-tests")
    observation = llmobserve.observe(
        api_key=key,
        endpoint=server.grpc_target,
        service_name="sdk-tests",
        api_url=server.http_url,
        provider_urls=provider_urls(standin.url),
    )
    memory = InMemorySpanExporter()
    observation.provider.add_span_processor(SimpleSpanProcessor(memory))
    yield SDK(observation, memory, key, server.http_url)
    llmobserve.shutdown()


@pytest.fixture(autouse=True)
def _fresh_standin(request) -> None:  # type: ignore[no-untyped-def]
    if "standin" in request.fixturenames:
        standin = request.getfixturevalue("standin")
        from tests.standin.provider import Usage

        standin.usage = Usage()
        standin.response_model = None
        standin.gzip = False
        standin.batch_failures = {}
