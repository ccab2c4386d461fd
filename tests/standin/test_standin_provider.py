"""The stand-in provider speaks the real APIs well enough for the official SDKs (no llmobserve code here)."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.standin.provider import StandInProvider, Usage

TEXT = "Hello from the stand-in provider."
USER = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def p() -> Iterator[StandInProvider]:
    with StandInProvider() as provider:
        yield provider
        assert provider.errors == []


def oai(p: StandInProvider, prefix: str = "/openai/v1", **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{p.url}{prefix}", api_key="test", max_retries=kw.pop("max_retries", 0), **kw)


def aoai(p: StandInProvider, **kw: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{p.url}/openai/v1", api_key="test", max_retries=kw.pop("max_retries", 0), **kw)


def ant(p: StandInProvider, **kw: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"{p.url}/anthropic", api_key="test", max_retries=kw.pop("max_retries", 0), **kw
    )


def aant(p: StandInProvider, **kw: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=f"{p.url}/anthropic", api_key="test", max_retries=kw.pop("max_retries", 0), **kw
    )


def sse_data(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ") and line != "data: [DONE]"]


# ----------------------------------------------------------------------------------------- OpenAI chat


def test_openai_chat_non_stream(p: StandInProvider) -> None:
    p.usage = Usage(input=120, output=30, cache_read=100, reasoning=10)
    with oai(p) as client:
        completion = client.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o"
    assert completion.choices[0].message.content == TEXT
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (120, 30, 150)
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 100
    assert usage.completion_tokens_details is not None and usage.completion_tokens_details.reasoning_tokens == 10
    log = p.requests[-1]
    assert (log["method"], log["path"], log["route"]) == ("POST", "/openai/v1/chat/completions", "openai.chat")
    assert log["json"]["model"] == "gpt-4o" and log["headers"]["authorization"] == "Bearer test"


def test_openai_chat_response_model_override(p: StandInProvider) -> None:
    p.response_model = "gpt-4o-2024-08-06"
    with oai(p) as client:
        assert client.chat.completions.create(model="gpt-4o", messages=USER).model == "gpt-4o-2024-08-06"  # type: ignore[arg-type]


def test_openai_chat_stream_with_usage(p: StandInProvider) -> None:
    p.usage = Usage(input=50, output=7, cache_read=20)
    with oai(p) as client:
        chunks = list(
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=USER,
                stream=True,
                stream_options={"include_usage": True},  # type: ignore[arg-type]
            )
        )
    assert len(chunks) >= 5
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    assert all(c.usage is None for c in chunks[:-1])
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (50, 7)
    assert last.usage.prompt_tokens_details is not None and last.usage.prompt_tokens_details.cached_tokens == 20


def test_openai_chat_stream_without_usage(p: StandInProvider) -> None:
    with oai(p) as client:
        chunks = list(client.chat.completions.create(model="gpt-4o", messages=USER, stream=True))  # type: ignore[arg-type]
    assert all(c.usage is None and len(c.choices) == 1 for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == TEXT
    raw = httpx.post(f"{p.url}/openai/v1/chat/completions", json={"model": "m", "stream": True}).text
    assert '"usage"' not in raw and raw.endswith("data: [DONE]\n\n")


def test_openai_chat_async(p: StandInProvider) -> None:
    async def run() -> None:
        async with aoai(p) as client:
            completion = await client.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
            assert completion.usage is not None and completion.usage.prompt_tokens == 100
            stream = await client.chat.completions.create(
                model="gpt-4o",
                messages=USER,
                stream=True,
                stream_options={"include_usage": True},  # type: ignore[arg-type]
            )
            chunks = [c async for c in stream]
            assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 20
            stream = await client.chat.completions.create(model="gpt-4o", messages=USER, stream=True)  # type: ignore[arg-type]
            assert all([c.usage is None async for c in stream])

    asyncio.run(run())


# ----------------------------------------------------------------------------------------- OpenAI responses


def test_openai_responses_non_stream(p: StandInProvider) -> None:
    p.usage = Usage(input=300, output=80, cache_read=256, reasoning=64)
    with oai(p) as client:
        response = client.responses.create(model="o4-mini", input="Hi")
    assert response.object == "response" and response.status == "completed"
    assert response.output_text == TEXT
    assert [item.type for item in response.output] == ["reasoning", "message"]
    usage = response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (300, 80, 380)
    assert usage.input_tokens_details.cached_tokens == 256
    assert usage.output_tokens_details.reasoning_tokens == 64


def test_openai_responses_stream(p: StandInProvider) -> None:
    p.usage = Usage(input=40, output=9, cache_read=8, reasoning=3)
    with oai(p) as client:
        events = list(client.responses.create(model="gpt-5", input="Hi", stream=True))
        types = [e.type for e in events]
        assert types[:2] == ["response.created", "response.in_progress"]
        assert types[-1] == "response.completed"
        assert types.count("response.output_text.delta") >= 3
        assert [e.sequence_number for e in events] == list(range(len(events)))
        completed = events[-1]
        assert completed.type == "response.completed"
        usage = completed.response.usage
        assert usage is not None and (usage.input_tokens, usage.output_tokens) == (40, 9)
        assert usage.input_tokens_details.cached_tokens == 8 and usage.output_tokens_details.reasoning_tokens == 3

        with client.responses.stream(model="gpt-5", input="Hi") as stream:
            deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
            final = stream.get_final_response()
    assert "".join(deltas) == TEXT
    assert final.output_text == TEXT
    assert final.usage is not None and final.usage.total_tokens == 49


def test_openai_responses_async_stream(p: StandInProvider) -> None:
    async def run() -> None:
        async with aoai(p) as client:
            response = await client.responses.create(model="gpt-5", input="Hi")
            assert response.usage is not None and response.usage.input_tokens == 100
            async with client.responses.stream(model="gpt-5", input="Hi") as stream:
                text = "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])
                final = await stream.get_final_response()
            assert text == TEXT and final.usage is not None and final.usage.output_tokens == 20

    asyncio.run(run())


# ----------------------------------------------------------------------------------------- OpenAI embeddings


def test_openai_embeddings(p: StandInProvider) -> None:
    p.usage = Usage(input=12)
    with oai(p) as client:
        result = client.embeddings.create(model="text-embedding-3-small", input=["a", "b", "c"])
        floats = client.embeddings.create(
            model="text-embedding-3-small", input="a", encoding_format="float", dimensions=4
        )
    assert p.requests[0]["json"]["encoding_format"] == "base64"  # the SDK's default
    assert [d.index for d in result.data] == [0, 1, 2]
    assert all(len(d.embedding) == 8 and all(isinstance(x, float) for x in d.embedding) for d in result.data)
    assert (result.usage.prompt_tokens, result.usage.total_tokens) == (12, 12)
    assert result.model == "text-embedding-3-small"
    assert len(floats.data) == 1 and len(floats.data[0].embedding) == 4
    assert floats.data[0].embedding == pytest.approx(result.data[0].embedding[:4], abs=1e-6)


# ----------------------------------------------------------------------------------------- Anthropic


def _assert_anthropic_usage(
    usage: anthropic.types.Usage, *, input: int, output: int, read: int, w5: int, w1: int
) -> None:
    assert (usage.input_tokens, usage.output_tokens) == (input, output)
    assert usage.cache_read_input_tokens == read
    assert usage.cache_creation_input_tokens == w5 + w1
    assert usage.cache_creation is not None
    assert (usage.cache_creation.ephemeral_5m_input_tokens, usage.cache_creation.ephemeral_1h_input_tokens) == (w5, w1)


def test_anthropic_non_stream(p: StandInProvider) -> None:
    p.usage = Usage(input=1000, output=50, cache_read=600, cache_write=200, cache_write_1h=100)
    with ant(p) as client:
        message = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=USER)  # type: ignore[arg-type]
    assert message.type == "message" and message.model == "claude-sonnet-4-5"
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text" and message.content[0].text == TEXT
    _assert_anthropic_usage(message.usage, input=100, output=50, read=600, w5=200, w1=100)
    assert p.requests[-1]["path"] == "/anthropic/v1/messages"


def test_anthropic_stream_raw(p: StandInProvider) -> None:
    p.usage = Usage(input=500, output=42, cache_read=400)
    with ant(p) as client:
        events = list(
            client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=64,
                messages=USER,
                stream=True,  # type: ignore[arg-type]
            )
        )
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    assert types.count("content_block_delta") >= 3
    start, delta = events[0], events[-2]
    assert start.type == "message_start" and delta.type == "message_delta"
    _assert_anthropic_usage(start.message.usage, input=100, output=1, read=400, w5=0, w1=0)
    assert delta.usage.output_tokens == 42 and delta.delta.stop_reason == "end_turn"
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    assert text == TEXT


def test_anthropic_stream_helper(p: StandInProvider) -> None:
    p.usage = Usage(input=300, output=25, cache_read=100, cache_write=50, cache_write_1h=50, reasoning=5)
    with ant(p) as client:
        with client.messages.stream(model="claude-opus-4-1", max_tokens=64, messages=USER) as stream:  # type: ignore[arg-type]
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
    assert text == TEXT
    assert final.content[0].type == "text" and final.content[0].text == TEXT
    _assert_anthropic_usage(final.usage, input=100, output=25, read=100, w5=50, w1=50)
    assert final.usage.output_tokens_details is not None and final.usage.output_tokens_details.thinking_tokens == 5


def test_anthropic_async(p: StandInProvider) -> None:
    p.usage = Usage(input=220, output=11, cache_write=20)

    async def run() -> None:
        async with aant(p) as client:
            message = await client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=USER)  # type: ignore[arg-type]
            _assert_anthropic_usage(message.usage, input=200, output=11, read=0, w5=20, w1=0)
            stream = await client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=64,
                messages=USER,
                stream=True,  # type: ignore[arg-type]
            )
            types = [e.type async for e in stream]
            assert types[0] == "message_start" and types[-1] == "message_stop"
            async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=USER) as helper:  # type: ignore[arg-type]
                final = await helper.get_final_message()
            _assert_anthropic_usage(final.usage, input=200, output=11, read=0, w5=20, w1=0)
            assert final.content[0].type == "text" and final.content[0].text == TEXT

    asyncio.run(run())


# ----------------------------------------------------------------------------------------- Gemini, Cohere, compatible hosts


def test_gemini_generate_content(p: StandInProvider) -> None:
    p.usage = Usage(input=90, output=40, cache_read=30, reasoning=15)
    url = f"{p.url}/gemini/v1beta/models/gemini-2.5-flash:generateContent"
    body = httpx.post(url, json={"contents": [{"parts": [{"text": "Hi"}]}]}).json()
    assert body["candidates"][0]["content"]["parts"][0]["text"] == TEXT
    assert body["candidates"][0]["finishReason"] == "STOP"
    assert body["modelVersion"] == "gemini-2.5-flash" and body["responseId"]
    meta = body["usageMetadata"]
    assert meta["promptTokenCount"] == 90 and meta["cachedContentTokenCount"] == 30
    assert meta["candidatesTokenCount"] == 25 and meta["thoughtsTokenCount"] == 15 and meta["totalTokenCount"] == 130


def test_gemini_stream_sse_and_array(p: StandInProvider) -> None:
    p.usage = Usage(input=10, output=8, reasoning=2)
    base = f"{p.url}/gemini/v1beta/models/gemini-2.5-pro:streamGenerateContent"
    with httpx.Client() as client:
        with client.stream("POST", base, params={"alt": "sse"}, json={"contents": []}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            raw = response.read().decode()
        assert "\r\n\r\n" in raw
        chunks = sse_data(raw.splitlines())
        assert len(chunks) >= 3 and all("usageMetadata" in c for c in chunks)
        assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == TEXT
        final = chunks[-1]["usageMetadata"]
        assert (final["promptTokenCount"], final["candidatesTokenCount"], final["thoughtsTokenCount"]) == (10, 6, 2)
        assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"

        array = client.post(base, json={"contents": []}).json()
        assert isinstance(array, list) and len(array) == len(chunks)
        assert array[-1]["usageMetadata"]["totalTokenCount"] == 18


def test_cohere_chat(p: StandInProvider) -> None:
    p.usage = Usage(input=33, output=4)
    with httpx.Client() as client:
        body = client.post(f"{p.url}/cohere/v2/chat", json={"model": "command-a-03-2025", "messages": USER}).json()
        assert body["message"]["content"][0]["text"] == TEXT and body["finish_reason"] == "COMPLETE"
        assert body["usage"]["billed_units"] == {"input_tokens": 33, "output_tokens": 4}
        assert body["usage"]["tokens"] == {"input_tokens": 33, "output_tokens": 4}

        with client.stream("POST", f"{p.url}/cohere/v2/chat", json={"model": "command-a-03-2025", "stream": True}) as r:
            lines = list(r.iter_lines())
    events = [line[len("event: ") :] for line in lines if line.startswith("event: ")]
    assert events[:2] == ["message-start", "content-start"] and events[-2:] == ["content-end", "message-end"]
    data = sse_data(lines)
    assert "".join(d["delta"]["message"]["content"]["text"] for d in data if d["type"] == "content-delta") == TEXT
    assert data[-1]["delta"]["finish_reason"] == "COMPLETE"
    assert data[-1]["delta"]["usage"]["billed_units"] == {"input_tokens": 33, "output_tokens": 4}


def test_openai_compatible_hosts(p: StandInProvider) -> None:
    p.usage = Usage(input=21, output=3)
    with oai(p, "/groq/openai/v1") as groq, oai(p, "/together/v1") as together, oai(p, "/mistral/v1") as mistral:
        assert groq.chat.completions.create(model="llama-3.3-70b", messages=USER).usage.prompt_tokens == 21  # type: ignore[arg-type, union-attr]
        assert together.chat.completions.create(model="m", messages=USER).usage.completion_tokens == 3  # type: ignore[arg-type, union-attr]
        groq_chunks = list(groq.chat.completions.create(model="llama", messages=USER, stream=True))  # type: ignore[arg-type]
        mistral_chunks = list(mistral.chat.completions.create(model="mistral-small-latest", messages=USER, stream=True))  # type: ignore[arg-type]
    assert [r["path"] for r in p.requests] == [
        "/groq/openai/v1/chat/completions",
        "/together/v1/chat/completions",
        "/groq/openai/v1/chat/completions",
        "/mistral/v1/chat/completions",
    ]
    # Groq reports streaming usage under x_groq on the finish chunk; Mistral in `usage` on the finish chunk.
    assert (groq_chunks[-1].model_extra or {})["x_groq"]["usage"]["prompt_tokens"] == 21
    assert mistral_chunks[-1].choices[0].finish_reason == "stop"
    assert mistral_chunks[-1].usage is not None and mistral_chunks[-1].usage.prompt_tokens == 21
    assert all(c.usage is None for c in mistral_chunks[:-1])
    mistral_raw = httpx.post(f"{p.url}/mistral/v1/chat/completions", json={"model": "m"}).json()
    assert mistral_raw["usage"]["completion_tokens"] == 3


def test_unknown_route_is_404(p: StandInProvider) -> None:
    r = httpx.post(f"{p.url}/openai/v1/nope", json={})
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"
    assert httpx.get(f"{p.url}/openai/v1/chat/completions").status_code == 404
    r = httpx.post(f"{p.url}/anthropic/v1/nope", json={})
    assert r.status_code == 404 and r.json()["type"] == "error" and r.json()["error"]["type"] == "not_found_error"
    assert p.requests[-1]["route"] == "unknown"


# ----------------------------------------------------------------------------------------- transport behaviour


def test_gzip(p: StandInProvider) -> None:
    p.gzip = True
    with oai(p) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.parse().usage is not None
        assert list(client.chat.completions.create(model="gpt-4o", messages=USER, stream=True))  # type: ignore[arg-type]
    with ant(p) as client:
        assert client.messages.create(model="claude", max_tokens=8, messages=USER).usage.output_tokens == 20  # type: ignore[arg-type]
    wire = httpx.post(f"{p.url}/openai/v1/chat/completions", json={"model": "m"}, headers={"accept-encoding": "gzip"})
    assert int(wire.headers["content-length"]) < len(wire.content)  # decoded by httpx
    identity = httpx.post(
        f"{p.url}/openai/v1/chat/completions", json={"model": "m"}, headers={"accept-encoding": "identity"}
    )
    assert "content-encoding" not in identity.headers
    assert gzip.decompress(gzip.compress(b"x")) == b"x"


def test_fail_next_rate_limit(p: StandInProvider) -> None:
    p.fail_next(429)
    with oai(p) as client, pytest.raises(openai.RateLimitError) as openai_error:
        client.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    assert openai_error.value.status_code == 429
    assert openai_error.value.response.headers["retry-after"] == "1"
    assert isinstance(openai_error.value.body, dict) and openai_error.value.body["code"] == "rate_limit_exceeded"

    p.fail_next(429)
    with ant(p) as client, pytest.raises(anthropic.RateLimitError) as anthropic_error:
        client.messages.create(model="claude", max_tokens=8, messages=USER)  # type: ignore[arg-type]
    body = anthropic_error.value.body
    assert isinstance(body, dict) and body["type"] == "error" and body["error"]["type"] == "rate_limit_error"

    p.fail_next(500, times=2)
    with oai(p) as client:
        with pytest.raises(openai.InternalServerError):
            client.responses.create(model="gpt-5", input="Hi")
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="gpt-4o", messages=USER, stream=True)  # type: ignore[arg-type]
        assert client.chat.completions.create(model="gpt-4o", messages=USER).usage is not None  # type: ignore[arg-type]

    p.fail_next(429, times=2)  # retried by the SDK after retry-after-ms (10 ms)
    started = time.monotonic()
    with oai(p, max_retries=2) as client:
        assert client.chat.completions.create(model="gpt-4o", messages=USER).choices[0].message.content == TEXT  # type: ignore[arg-type]
    assert time.monotonic() - started < 2
    assert len(p.requests) == 1 + 1 + 3 + 3


def test_fail_next_other_shapes(p: StandInProvider) -> None:
    p.fail_next(503, times=2)
    gemini = httpx.post(f"{p.url}/gemini/v1beta/models/gemini-2.5-flash:generateContent", json={})
    assert gemini.status_code == 503 and gemini.json()["error"]["status"] == "UNAVAILABLE"
    cohere = httpx.post(f"{p.url}/cohere/v2/chat", json={})
    assert cohere.status_code == 503 and "message" in cohere.json()


def test_hang_next_times_out(p: StandInProvider) -> None:
    p.hang_next(5)
    started = time.monotonic()
    with oai(p, timeout=0.2) as client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    p.hang_next(5)
    with ant(p, timeout=0.2) as client, pytest.raises(anthropic.APITimeoutError):
        client.messages.create(model="claude", max_tokens=8, messages=USER)  # type: ignore[arg-type]
    assert time.monotonic() - started < 2
    with oai(p) as client:  # the server is still fine
        assert client.chat.completions.create(model="gpt-4o", messages=USER).usage is not None  # type: ignore[arg-type]


def test_abandoned_streams_do_not_break_the_server(p: StandInProvider) -> None:
    p.stream_delay = 0.02  # still writing when the client walks away
    with oai(p) as client:
        stream = client.chat.completions.create(model="gpt-4o", messages=USER, stream=True)  # type: ignore[arg-type]
        for index, _ in enumerate(stream):
            if index == 1:
                break
        stream.close()
        assert client.chat.completions.create(model="gpt-4o", messages=USER).usage is not None  # type: ignore[arg-type]
    with ant(p) as client:
        with client.messages.stream(model="claude", max_tokens=8, messages=USER) as helper:  # type: ignore[arg-type]
            next(iter(helper.text_stream))
        assert client.messages.create(model="claude", max_tokens=8, messages=USER).usage.input_tokens == 100  # type: ignore[arg-type]

    async def run() -> None:
        async with aoai(p) as aclient:
            astream = await aclient.chat.completions.create(model="gpt-4o", messages=USER, stream=True)  # type: ignore[arg-type]
            count = 0
            async for _ in astream:
                count += 1
                if count == 2:
                    break
            await astream.close()
            completion = await aclient.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
            assert completion.usage is not None

    asyncio.run(run())
    time.sleep(0.05)  # let the server notice the broken pipes


def test_keep_alive_and_concurrency(p: StandInProvider) -> None:
    with httpx.Client() as client:
        for _ in range(3):
            client.post(f"{p.url}/openai/v1/chat/completions", json={"model": "m"}).raise_for_status()
            with client.stream("POST", f"{p.url}/anthropic/v1/messages", json={"model": "c", "stream": True}) as r:
                assert sse_data(list(r.iter_lines()))[-1]["type"] == "message_stop"
    assert len({r["connection"] for r in p.requests}) == 1  # one keep-alive connection served all six

    async def run() -> None:
        async with httpx.AsyncClient() as client:

            async def one(i: int) -> str:
                async with client.stream(
                    "POST", f"{p.url}/openai/v1/chat/completions", json={"model": f"m{i}", "stream": True}
                ) as r:
                    return "".join([line async for line in r.aiter_lines()])

            results = await asyncio.gather(*(one(i) for i in range(8)))
            assert all(result.endswith("data: [DONE]") for result in results)
            for _ in range(3):
                (await client.post(f"{p.url}/cohere/v2/chat", json={})).raise_for_status()

    asyncio.run(run())


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_sse_framings(framing: str) -> None:
    with StandInProvider(sse_framing=framing) as p:  # type: ignore[arg-type]
        with oai(p) as client:
            chunks = list(
                client.chat.completions.create(
                    model="gpt-4o",
                    messages=USER,
                    stream=True,
                    stream_options={"include_usage": True},  # type: ignore[arg-type]
                )
            )
            assert chunks[-1].usage is not None
            assert client.chat.completions.create(model="gpt-4o", messages=USER).usage is not None  # type: ignore[arg-type]
        with ant(p) as aclient, aclient.messages.stream(model="c", max_tokens=8, messages=USER) as stream:  # type: ignore[arg-type]
            assert stream.get_final_message().usage.output_tokens == 20

        async def run() -> None:
            async with aoai(p) as client:
                async with client.responses.stream(model="gpt-5", input="Hi") as stream:
                    final = await stream.get_final_response()
                assert final.usage is not None and final.usage.input_tokens == 100

        asyncio.run(run())
        assert p.errors == []
