"""The official openai SDK (sync, async, streaming and not) → stand-in provider → our capture →
live receiver: exact costs and attribution by agent, section and customer."""

from __future__ import annotations

import asyncio

import openai
import pytest

from llmobserve import agent, customer, section
from tests.instrumentation.conftest import unique
from tests.prices import as_json_number, cost
from tests.standin.provider import Usage

MESSAGES = [{"role": "user", "content": "Say hello."}]


def _client(standin, path: str = "openai/v1") -> openai.OpenAI:  # type: ignore[no-untyped-def]
    return openai.OpenAI(base_url=f"{standin.url}/{path}", api_key="test", max_retries=0)


def _async_client(standin) -> openai.AsyncOpenAI:  # type: ignore[no-untyped-def]
    return openai.AsyncOpenAI(base_url=f"{standin.url}/openai/v1", api_key="test", max_retries=0)


def _assert_billed(sdk, cust: str, expected, calls: int = 1) -> None:  # type: ignore[no-untyped-def]
    assert sdk.costs("customer")[cust] == (as_json_number(expected), calls)


def test_chat_sync_with_cache_and_reasoning_is_priced_and_attributed(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=1000, output=500, cache_read=200, reasoning=120)
    cust, name = unique("cust"), unique("planner")

    @agent(name)
    def plan() -> str:
        with section("tool:draft"):
            reply = _client(standin).chat.completions.create(model="o3-mini", messages=MESSAGES)
        return reply.choices[0].message.content or ""

    with customer(cust):
        assert plan()
    expected = cost("o3-mini", 1000, 500, cache_read=200)
    _assert_billed(sdk, cust, expected)
    assert sdk.costs("agent")[name] == (as_json_number(expected), 1)
    [span] = sdk.span_for_customer(cust, "chat ")
    attrs = span.attributes
    assert span.name == "chat o3-mini" and span.kind.name == "CLIENT"
    assert attrs["gen_ai.provider.name"] == "openai" and attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.usage.input_tokens"] == 1000 and attrs["gen_ai.usage.output_tokens"] == 500
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 200
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 120
    assert attrs["llmobserve.section.path"] == f"agent:{name}/tool:draft"
    root = [s for s in sdk.spans(f"invoke_agent {name}")][0]
    assert span.parent.span_id == root.context.span_id


def test_chat_sync_stream_with_include_usage(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=3000, output=200, cache_read=1024)
    cust = unique("cust")
    with customer(cust):
        stream = _client(standin).chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        text = "".join((c.choices[0].delta.content or "") for c in stream if c.choices)
    assert text
    _assert_billed(sdk, cust, cost("gpt-4o", 3000, 200, cache_read=1024))
    [span] = sdk.span_for_customer(cust, "chat ")
    assert "llmobserve.stream.incomplete" not in span.attributes


def test_chat_async_non_stream_and_stream(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=800, output=90)
    cust = unique("cust")

    async def calls() -> None:
        async with _async_client(standin) as client:
            with customer(cust):
                await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
                stream = await client.chat.completions.create(
                    model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
                )
                async for _ in stream:
                    pass

    asyncio.run(calls())
    _assert_billed(sdk, cust, 2 * cost("gpt-4o-mini", 800, 90), calls=2)


def test_responses_api_non_stream_and_stream(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=1500, output=300, cache_read=500, reasoning=100)
    cust = unique("cust")
    client = _client(standin)
    with customer(cust):
        client.responses.create(model="o3-mini", input="hi")
        with client.responses.stream(model="o3-mini", input="hi") as stream:
            final = stream.get_final_response()
    assert final.usage is not None and final.usage.input_tokens == 1500
    _assert_billed(sdk, cust, 2 * cost("o3-mini", 1500, 300, cache_read=500), calls=2)


def test_embeddings(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=4096, output=0)
    cust = unique("cust")
    with customer(cust):
        result = _client(standin).embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(result.data) == 2
    _assert_billed(sdk, cust, cost("text-embedding-3-small", 4096, 0))
    [span] = sdk.span_for_customer(cust, "embeddings ")
    assert span.attributes["gen_ai.operation.name"] == "embeddings"


def test_openai_compatible_host_groq(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=5000, output=700)
    cust = unique("cust")
    with customer(cust):
        _client(standin, "groq/openai/v1").chat.completions.create(model="llama-3.1-8b-instant", messages=MESSAGES)
    _assert_billed(sdk, cust, cost("llama-3.1-8b-instant", 5000, 700))
    [span] = sdk.span_for_customer(cust, "chat ")
    assert span.attributes["gen_ai.provider.name"] == "groq"


def test_stream_abandoned_half_way_still_yields_an_incomplete_span(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=100, output=50)
    cust = unique("cust")
    with customer(cust):
        stream = _client(standin).chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        for i, _ in enumerate(stream):
            if i == 1:
                break
        stream.close()
    [span] = sdk.span_for_customer(cust, "chat ")
    assert span.attributes["llmobserve.stream.incomplete"] is True
    assert "gen_ai.usage.input_tokens" not in span.attributes  # usage comes last; nothing is invented
    assert sdk.costs("customer")[cust] == (0, 1)  # visible as a call, not priced from nothing


@pytest.mark.parametrize("status, error", [(429, openai.RateLimitError), (500, openai.InternalServerError)])
def test_errors_are_recorded_and_cost_nothing(sdk, standin, status: int, error: type) -> None:  # type: ignore[no-untyped-def]
    cust = unique("cust")
    standin.fail_next(status)
    with customer(cust), pytest.raises(error):
        _client(standin).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    [span] = sdk.span_for_customer(cust, "chat ")
    assert span.status.status_code.name == "ERROR" and span.attributes["error.type"] == str(status)
    assert sdk.costs("customer")[cust] == (0, 1)


def test_timeout_is_recorded_with_error_type(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    cust = unique("cust")
    standin.hang_next(2.0)
    client = openai.OpenAI(base_url=f"{standin.url}/openai/v1", api_key="test", max_retries=0, timeout=0.3)
    with customer(cust), pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    [span] = sdk.span_for_customer(cust, "chat ")
    assert span.status.status_code.name == "ERROR" and "Timeout" in span.attributes["error.type"]
