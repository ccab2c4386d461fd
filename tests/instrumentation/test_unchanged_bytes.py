"""The app receives exactly the bytes and objects it would receive without instrumentation."""

from __future__ import annotations

import asyncio

import anthropic
import httpx
import openai
import pytest
from opentelemetry.instrumentation.utils import suppress_http_instrumentation

from llmobserve import customer
from tests.instrumentation.conftest import unique
from tests.standin.provider import Usage

MESSAGES = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def fixed(standin):  # type: ignore[no-untyped-def]
    standin.deterministic = True
    standin.usage = Usage(input=1200, output=60, cache_read=200, reasoning=10)
    yield standin
    standin.deterministic = False


def _both(sdk, call):  # type: ignore[no-untyped-def]
    """(result with instrumentation, result with OpenTelemetry's HTTP instrumentation suppressed)."""
    cust = unique("bytes")
    with customer(cust):
        observed = call()
    with suppress_http_instrumentation():
        plain = call()
    assert sdk.llm_spans(cust), "the instrumented side was not captured"
    return observed, plain


@pytest.mark.parametrize("gzip", [False, True])
def test_openai_raw_bytes_and_parsed_objects_identical(sdk, fixed, gzip: bool) -> None:  # type: ignore[no-untyped-def]
    fixed.gzip = gzip
    client = openai.OpenAI(base_url=f"{fixed.url}/openai/v1", api_key="test", max_retries=0)

    def call():  # type: ignore[no-untyped-def]
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
        return raw.http_response.content, raw.parse().model_dump()

    (observed_bytes, observed_obj), (plain_bytes, plain_obj) = _both(sdk, call)
    assert observed_bytes == plain_bytes and observed_obj == plain_obj


def test_openai_stream_chunks_identical(sdk, fixed) -> None:  # type: ignore[no-untyped-def]
    client = openai.OpenAI(base_url=f"{fixed.url}/openai/v1", api_key="test", max_retries=0)

    def call():  # type: ignore[no-untyped-def]
        stream = client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        return [chunk.model_dump() for chunk in stream]

    observed, plain = _both(sdk, call)
    assert observed == plain and observed[-1]["usage"]["prompt_tokens"] == 1200


def test_raw_sse_bytes_identical_over_httpx(sdk, fixed) -> None:  # type: ignore[no-untyped-def]
    def call() -> bytes:
        with (
            httpx.Client() as client,
            client.stream(
                "POST",
                f"{fixed.url}/openai/v1/chat/completions",
                json={"model": "gpt-4o", "messages": MESSAGES, "stream": True},
            ) as response,
        ):
            return b"".join(response.iter_raw())

    observed, plain = _both(sdk, call)
    assert observed == plain and observed.endswith(b"data: [DONE]\n\n")


def test_anthropic_async_stream_identical(sdk, fixed) -> None:  # type: ignore[no-untyped-def]
    def call():  # type: ignore[no-untyped-def]
        async def run():  # type: ignore[no-untyped-def]
            client = anthropic.AsyncAnthropic(
                base_url=f"{fixed.url}/anthropic", api_key="test", max_retries=0, open_telemetry={"traces": False}
            )
            async with client.messages.stream(
                model="claude-3-5-haiku-20241022", max_tokens=64, messages=MESSAGES
            ) as stream:
                events = [event.model_dump() async for event in stream]
            await client.close()
            return events

        return asyncio.run(run())

    observed, plain = _both(sdk, call)
    assert observed == plain and len(observed) > 3
