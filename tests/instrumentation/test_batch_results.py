"""Batch jobs through the official SDKs and the stand-in: each result line the app downloads is one
span, priced by the receiver at the batch rate; failed lines are failed calls."""

from __future__ import annotations

import asyncio
import io
import json

import anthropic
import openai
from opentelemetry.instrumentation.utils import suppress_http_instrumentation

from llmobserve import customer
from tests.instrumentation.conftest import unique
from tests.prices import as_json_number, cost
from tests.standin.provider import Usage

MESSAGES = [{"role": "user", "content": "Say hello."}]
MINI = "gpt-4o-mini"
HAIKU = "claude-haiku-4-5"  # the catalogue has Anthropic batch prices for 4.5 models, not for 3.5 ones


def _openai(standin) -> openai.OpenAI:  # type: ignore[no-untyped-def]
    return openai.OpenAI(base_url=f"{standin.url}/openai/v1", api_key="test", max_retries=0)


def _openai_batch(client: openai.OpenAI, requests: int):  # type: ignore[no-untyped-def]
    """Upload, create, poll: (the create answer, the completed batch)."""
    lines = "".join(
        json.dumps(
            {
                "custom_id": f"req-{i}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": MINI, "messages": MESSAGES},
            }
        )
        + "\n"
        for i in range(requests)
    )
    upload = client.files.create(file=("requests.jsonl", io.BytesIO(lines.encode())), purpose="batch")
    created = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    return created, client.batches.retrieve(created.id)


def _results(sdk, batch_id: str):  # type: ignore[no-untyped-def]
    spans = [s for s in sdk.spans() if (s.attributes or {}).get("llmobserve.batch.id") == batch_id]
    return (
        sorted(
            (s for s in spans if "llmobserve.batch.custom_id" in s.attributes),
            key=lambda s: s.attributes["llmobserve.batch.custom_id"],
        ),
        [s for s in spans if s.name == "batch_results"],
    )


def test_openai_batch_results_are_one_span_each_at_half_price(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=1200, output=300)
    cust = unique("batch")
    client = _openai(standin)
    with customer(cust):
        created, batch = _openai_batch(client, 3)
        assert created.status == "validating" and batch.status == "completed" and batch.error_file_id is None
        body = client.files.content(batch.output_file_id).text
    assert len(body.splitlines()) == 3
    results, [download] = _results(sdk, batch.id)
    [create] = [s for s in sdk.spans("POST") if s.attributes.get("llmobserve.batch.id") == batch.id]
    assert [s.attributes["llmobserve.batch.custom_id"] for s in results] == ["req-0", "req-1", "req-2"]
    for span in results:
        attrs = span.attributes
        assert span.name == f"chat {MINI}" and span.status.is_ok
        assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.provider.name"] == "openai"
        assert attrs["gen_ai.request.model"] == MINI and attrs["gen_ai.response.model"] == MINI
        assert attrs["gen_ai.usage.input_tokens"] == 1200 and attrs["gen_ai.usage.output_tokens"] == 300
        assert attrs["llmobserve.batch"] is True and attrs["llmobserve.customer.id"] == cust
        assert span.parent.span_id == download.context.span_id
        assert [link.context.span_id for link in span.links] == [create.context.span_id]
    # The download is no LLM call: no operation, no usage, so never priced.
    assert not any(k.startswith("gen_ai.") for k in download.attributes)
    assert (
        download.attributes["llmobserve.batch.results"] == 3
        and download.attributes["llmobserve.batch.results.failed"] == 0
    )
    assert sdk.costs("customer")[cust] == (as_json_number(3 * cost(MINI, 1200, 300) / 2), 3)


def test_openai_failed_requests_are_failed_calls(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=1000, output=100)
    standin.batch_failures = {"req-1": 400, "req-2": "batch_expired"}
    cust = unique("batch")
    client = _openai(standin)
    with customer(cust):
        _, batch = _openai_batch(client, 3)
        client.files.content(batch.output_file_id).read()
        client.files.content(batch.error_file_id).read()
    results, downloads = _results(sdk, batch.id)
    ok, bad_request, expired = results
    assert ok.status.is_ok and ok.attributes["gen_ai.usage.input_tokens"] == 1000
    for span, kind in ((bad_request, "400"), (expired, "batch_expired")):
        assert span.status.status_code.name == "ERROR" and span.attributes["error.type"] == kind
        assert span.name == f"chat {MINI}"  # an OpenAI batch has one model: the failed lines are named by it
        assert not any(k.startswith("gen_ai.usage.") for k in span.attributes)
    assert sorted(d.attributes["llmobserve.batch.results.failed"] for d in downloads) == [0, 2]
    assert sdk.costs("customer")[cust] == (as_json_number(cost(MINI, 1000, 100) / 2), 3)


def test_streamed_gzip_download_is_unchanged_and_priced_once(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=500, output=50)
    standin.gzip = True
    cust = unique("batch")
    client = _openai(standin)

    def download() -> bytes:
        with client.files.with_streaming_response.content(batch.output_file_id) as response:
            return b"".join(response.iter_bytes(chunk_size=97))  # chunks cut lines anywhere

    with customer(cust):
        _, batch = _openai_batch(client, 3)
        observed = download()
        again = download()  # the same results read twice are priced once
    with suppress_http_instrumentation():
        plain = download()
    assert observed == again == plain and len(plain.splitlines()) == 3
    results, downloads = _results(sdk, batch.id)
    assert len(results) == 3 and len(downloads) == 1
    assert sdk.costs("customer")[cust] == (as_json_number(3 * cost(MINI, 500, 50) / 2), 3)


def test_a_file_that_is_not_results_is_left_alone(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    client = _openai(standin)
    created, batch = _openai_batch(client, 2)
    client.files.content(batch.input_file_id).read()  # the requests, not their results
    # Result spans of an unknown file would carry its id as the batch id.
    assert _results(sdk, batch.id) == _results(sdk, batch.input_file_id) == ([], [])
    [download] = [s for s in sdk.spans() if f"{batch.input_file_id}/content" in str(s.attributes.get("http.url"))]
    assert download.name == "GET" and "llmobserve.batch.results" not in download.attributes


def test_anthropic_message_batch_results(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=3000, output=400, cache_read=1000)
    standin.batch_failures = {"b": 500, "c": "expired"}
    cust = unique("batch")
    client = anthropic.Anthropic(base_url=f"{standin.url}/anthropic", api_key="test", max_retries=0)
    requests = [{"custom_id": c, "params": {"model": HAIKU, "max_tokens": 64, "messages": MESSAGES}} for c in "abc"]
    with customer(cust):
        created = client.messages.batches.create(requests=requests)
        types = {r.custom_id: r.result.type for r in client.messages.batches.results(created.id)}
    assert types == {"a": "succeeded", "b": "errored", "c": "expired"}
    (ok, errored, expired), [download] = _results(sdk, created.id)
    [create] = [s for s in sdk.spans("POST") if s.attributes.get("llmobserve.batch.id") == created.id]
    attrs = ok.attributes
    assert ok.name == f"chat {HAIKU}" and attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.usage.input_tokens"] == 3000 and attrs["gen_ai.usage.cache_read.input_tokens"] == 1000
    assert errored.attributes["error.type"] == "api_error" and expired.attributes["error.type"] == "expired"
    for span in (ok, errored, expired):
        assert span.attributes["llmobserve.batch"] is True and span.parent.span_id == download.context.span_id
        assert [link.context.span_id for link in span.links] == [create.context.span_id]
    for span in (errored, expired):
        assert span.status.status_code.name == "ERROR" and span.attributes["gen_ai.request.model"] == HAIKU
        assert not any(k.startswith("gen_ai.usage.") for k in span.attributes)
    assert sdk.costs("customer")[cust][1] == 3  # exact batch prices: tests/e2e/test_batch_pricing_e2e.py


def test_anthropic_async_results_stream(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=200, output=20)
    cust = unique("batch")

    async def run() -> str:
        async with anthropic.AsyncAnthropic(
            base_url=f"{standin.url}/anthropic", api_key="test", max_retries=0, open_telemetry={"traces": False}
        ) as client:
            created = await client.messages.batches.create(
                requests=[
                    {"custom_id": f"r{i}", "params": {"model": HAIKU, "max_tokens": 8, "messages": MESSAGES}}
                    for i in range(4)
                ]
            )
            assert len([r async for r in await client.messages.batches.results(created.id)]) == 4
            return created.id

    with customer(cust):
        batch_id = asyncio.run(run())
    results, [download] = _results(sdk, batch_id)
    assert [s.attributes["llmobserve.batch.custom_id"] for s in results] == ["r0", "r1", "r2", "r3"]
    assert download.attributes["llmobserve.batch.results"] == 4
