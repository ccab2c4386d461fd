"""The official anthropic SDK, and Gemini / Cohere / Mistral over plain httpx, through our capture."""

from __future__ import annotations

import asyncio

import anthropic
import httpx
import pytest

from llmobserve import agent, customer
from tests.instrumentation.conftest import unique
from tests.prices import as_json_number, cost
from tests.standin.provider import Usage

MESSAGES = [{"role": "user", "content": "Say hello."}]
SONNET = "claude-3-5-sonnet-20241022"


def _anthropic(standin, native_tracing: bool = True) -> anthropic.Anthropic:  # type: ignore[no-untyped-def]
    options = {} if native_tracing else {"open_telemetry": {"traces": False}}
    return anthropic.Anthropic(base_url=f"{standin.url}/anthropic", api_key="test", max_retries=0, **options)


def test_anthropic_cache_write_and_read_sync(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=5000, output=800, cache_read=1000, cache_write=2000)
    cust, name = unique("cust"), unique("writer")
    with customer(cust), agent(name):
        message = _anthropic(standin).messages.create(model=SONNET, max_tokens=1024, messages=MESSAGES)
    assert message.usage.cache_creation_input_tokens == 2000
    expected = cost(SONNET, 5000, 800, cache_read=1000, cache_write=2000)
    assert sdk.costs("customer")[cust] == (as_json_number(expected), 1)
    assert sdk.costs("agent")[name] == (as_json_number(expected), 1)
    # The anthropic SDK traces its own calls (an `anthropic.messages.create` span with gen_ai.*):
    # our capture stands aside under it, so the call is one LLM span, priced once.
    [span] = sdk.llm_spans(cust)
    attrs = span.attributes
    assert attrs["gen_ai.usage.input_tokens"] == 5000  # OTel: cache-inclusive, unlike Anthropic's own field
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 1000


def test_anthropic_with_its_own_tracing_off_is_captured_by_us(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=6000, output=500, cache_read=1000, cache_write=1500, cache_write_1h=500)
    cust = unique("cust")
    client = _anthropic(standin, native_tracing=False)
    with customer(cust):
        client.messages.create(model=SONNET, max_tokens=64, messages=MESSAGES)
        with client.messages.stream(model=SONNET, max_tokens=64, messages=MESSAGES) as stream:
            stream.get_final_message()
    spans = sdk.llm_spans(cust)
    assert [s.name for s in spans] == [f"chat {SONNET}"] * 2  # ours: the httpx span turned GenAI span
    for span in spans:
        attrs = span.attributes
        assert attrs["gen_ai.usage.input_tokens"] == 6000
        assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 2000
        assert attrs["llmobserve.usage.cache_write_1h.input_tokens"] == 500
        assert attrs["gen_ai.usage.cache_read.input_tokens"] == 1000 and attrs["gen_ai.usage.output_tokens"] == 500
    expected = 2 * cost(SONNET, 6000, 500, cache_read=1000, cache_write=2000, cache_write_1h=500)
    assert sdk.costs("customer")[cust] == (as_json_number(expected), 2)


def test_anthropic_streams_sync_helper_and_async_raw(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=4000, output=1000, cache_read=1000)
    cust = unique("cust")
    with customer(cust):
        with _anthropic(standin).messages.stream(
            model="claude-3-5-haiku-20241022", max_tokens=64, messages=MESSAGES
        ) as s:
            final = s.get_final_message()

        async def raw_stream() -> None:
            client = anthropic.AsyncAnthropic(base_url=f"{standin.url}/anthropic", api_key="test", max_retries=0)
            stream = await client.messages.create(
                model="claude-3-5-haiku-20241022", max_tokens=64, messages=MESSAGES, stream=True
            )
            async for _ in stream:
                pass
            await client.close()

        asyncio.run(raw_stream())
    assert final.usage.output_tokens == 1000
    expected = 2 * cost("claude-3-5-haiku-20241022", 4000, 1000, cache_read=1000)
    assert sdk.costs("customer")[cust] == (as_json_number(expected), 2)


def test_gemini_generate_content_and_both_stream_forms(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=10_000, output=1000, reasoning=200)
    cust = unique("cust")
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    base = f"{standin.url}/gemini/v1beta/models/gemini-1.5-pro"
    with customer(cust), httpx.Client(timeout=10) as client:
        assert client.post(f"{base}:generateContent", json=body).status_code == 200
        with client.stream("POST", f"{base}:streamGenerateContent", params={"alt": "sse"}, json=body) as response:
            for _ in response.iter_lines():
                pass
        assert client.post(f"{base}:streamGenerateContent", json=body).json()  # JSON array form
    expected = 3 * cost("gemini-1.5-pro", 10_000, 1000)
    assert sdk.costs("customer")[cust] == (as_json_number(expected), 3)
    spans = sdk.span_for_customer(cust, "generate_content ")
    assert {s.attributes["gen_ai.provider.name"] for s in spans} == {"gcp.gemini"}
    assert all(s.attributes["gen_ai.usage.output_tokens"] == 1000 for s in spans)  # thoughts included
    assert all(s.attributes["gen_ai.usage.reasoning.output_tokens"] == 200 for s in spans)


@pytest.mark.parametrize(
    "path, body, model, provider",
    [
        (
            "mistral/v1/chat/completions",
            {"model": "mistral-large-latest", "messages": MESSAGES},
            "mistral-large-latest",
            "mistral_ai",
        ),
        (
            "groq/openai/v1/chat/completions",
            {"model": "llama-3.1-8b-instant", "messages": MESSAGES},
            "llama-3.1-8b-instant",
            "groq",
        ),
        (
            "cohere/v2/chat",
            {"model": "command-r-plus-08-2024", "messages": MESSAGES},
            "command-r-plus-08-2024",
            "cohere",
        ),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_other_providers_over_plain_httpx(sdk, standin, path, body, model, provider, stream) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=2000, output=300)
    cust = unique("cust")
    payload = {**body, "stream": stream}
    if stream and provider != "cohere":
        payload["stream_options"] = {"include_usage": True}
    with customer(cust), httpx.Client(timeout=10) as client:
        with client.stream("POST", f"{standin.url}/{path}", json=payload) as response:
            assert response.status_code == 200
            response.read()
    assert sdk.costs("customer")[cust] == (as_json_number(cost(model, 2000, 300)), 1)
    [span] = sdk.llm_spans(cust)
    assert span.attributes["gen_ai.provider.name"] == provider and span.name == f"chat {model}"
