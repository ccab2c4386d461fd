"""The stand-in's batch APIs, through the official SDKs (no llmobserve code here)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import anthropic
import openai
import pytest

from tests.standin.provider import StandInProvider, Usage

USER = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def p() -> Iterator[StandInProvider]:
    with StandInProvider(usage=Usage(input=50, output=7)) as provider:
        yield provider
        assert provider.errors == []


def test_openai_files_and_batches(p: StandInProvider) -> None:
    p.batch_failures = {"r1": 429, "r2": "batch_expired"}
    client = openai.OpenAI(base_url=f"{p.url}/openai/v1", api_key="test", max_retries=0)
    lines = [
        {
            "custom_id": f"r{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": USER},
        }
        for i in range(4)
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    upload = client.files.create(file=("in.jsonl", io.BytesIO(data)), purpose="batch")
    assert upload.purpose == "batch" and upload.bytes == len(data)
    assert client.files.content(upload.id).read() == data
    created = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert created.status == "validating" and created.output_file_id is None
    batch = client.batches.retrieve(created.id)
    assert batch.status == "completed" and batch.model == "gpt-4o-mini"
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (4, 2, 2)
    assert client.files.retrieve(batch.output_file_id).purpose == "batch_output"
    output = [json.loads(line) for line in client.files.content(batch.output_file_id).text.splitlines()]
    assert [o["custom_id"] for o in output] == ["r0", "r3"] and all(o["error"] is None for o in output)
    body = output[0]["response"]["body"]
    assert output[0]["response"]["status_code"] == 200 and body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o-mini" and body["usage"]["prompt_tokens"] == 50
    failed = {o["custom_id"]: o for o in map(json.loads, client.files.content(batch.error_file_id).text.splitlines())}
    assert failed["r1"]["response"]["status_code"] == 429 and failed["r1"]["response"]["body"]["error"]
    assert failed["r2"]["response"] is None and failed["r2"]["error"]["code"] == "batch_expired"
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_nope")


def test_anthropic_message_batches(p: StandInProvider) -> None:
    p.batch_failures = {"b": 500, "c": "canceled"}
    client = anthropic.Anthropic(base_url=f"{p.url}/anthropic", api_key="test", max_retries=0)
    created = client.messages.batches.create(
        requests=[
            {"custom_id": c, "params": {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": USER}} for c in "abc"
        ]
    )
    assert created.processing_status == "in_progress" and created.request_counts.processing == 3
    batch = client.messages.batches.retrieve(created.id)
    assert batch.processing_status == "ended" and batch.results_url.startswith(p.url + "/anthropic/")
    assert (batch.request_counts.succeeded, batch.request_counts.errored, batch.request_counts.canceled) == (1, 1, 1)
    results = {r.custom_id: r.result for r in client.messages.batches.results(created.id)}
    assert results["a"].type == "succeeded" and results["a"].message.usage.input_tokens == 50
    assert results["a"].message.model == "claude-haiku-4-5"
    assert results["b"].type == "errored" and results["b"].error.error.type == "api_error"
    assert results["c"].type == "canceled"
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_nope")
