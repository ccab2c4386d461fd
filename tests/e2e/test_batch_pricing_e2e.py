"""Batch jobs priced end to end: an app (own process, official SDKs, ``observe()``) runs a batch
through the stand-in provider and downloads its results; the live receiver prices each request at
the batch rate, exactly half the standard price for these models."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.conftest import ROOT
from tests.otlp_helpers import breakdown
from tests.prices import as_json_number, cost
from tests.standin.provider import StandInProvider, Usage

APP = """
    import io, json, sys, anthropic, openai, llmobserve
    from llmobserve import customer
    url, key, target = sys.argv[1:4]
    llmobserve.observe(api_key=key, endpoint=target, service_name="batch-app",
                       provider_urls={url + "/openai/v1": "openai", url + "/anthropic": "anthropic"})
    MESSAGES = [{"role": "user", "content": "Summarise."}]
"""
OPENAI_BATCH = """
    client = openai.OpenAI(base_url=url + "/openai/v1", api_key="test", max_retries=0)
    lines = "".join(json.dumps({"custom_id": f"doc-{i}", "method": "POST", "url": "/v1/chat/completions",
                                "body": {"model": "gpt-4o-mini", "messages": MESSAGES}}) + "\\n" for i in range(3))
    upload = client.files.create(file=("docs.jsonl", io.BytesIO(lines.encode())), purpose="batch")
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    batch = client.batches.retrieve(batch.id)
    print(len(client.files.content(batch.output_file_id).text.splitlines()))
"""
ANTHROPIC_BATCH = """
    client = anthropic.Anthropic(base_url=url + "/anthropic", api_key="test", max_retries=0)
    params = {"model": "claude-haiku-4-5", "max_tokens": 256, "messages": MESSAGES}
    with customer("standard"):
        client.messages.create(**params)
    with customer("batch"):
        batch = client.messages.batches.create(requests=[{"custom_id": c, "params": params} for c in "abc"])
        print(len(list(client.messages.batches.results(batch.id))))
"""


@pytest.fixture
def standin() -> Iterator[StandInProvider]:
    with StandInProvider() as provider:
        yield provider
        assert provider.errors == []


def _run_app(standin: StandInProvider, server, key: str, code: str) -> str:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(APP) + textwrap.dedent(code), standin.url, key, server.grpc_target],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _llm_rows(server, key: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    window = {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    response = server.get("/api/v1/export/traces", key, format="csv", **window)
    assert response.status_code == 200, response.text
    return [row for row in csv.DictReader(io.StringIO(response.text)) if row["is_llm"].lower() == "true"]


def test_openai_batch_of_three_is_three_spans_at_half_price(server, tenant_key, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=1200, output=300)
    assert _run_app(standin, server, tenant_key, OPENAI_BATCH) == "3"
    half = cost("gpt-4o-mini", 1200, 300) / 2
    rows = _llm_rows(server, tenant_key)
    assert len(rows) == 3 and all(Decimal(r["cost_usd"]) == half for r in rows)  # exact, each
    assert {(r["provider"], r["model"], r["name"]) for r in rows} == {("openai", "gpt-4o-mini", "chat gpt-4o-mini")}
    assert breakdown(server.http_url, tenant_key, "model") == {"gpt-4o-mini": (as_json_number(3 * half), 3)}
    assert breakdown(server.http_url, tenant_key, "provider") == {"openai": (as_json_number(3 * half), 3)}


def test_anthropic_batch_is_half_the_same_call_made_directly(server, tenant_key, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=4000, output=900)
    standin.batch_failures = {"c": 500}
    assert _run_app(standin, server, tenant_key, ANTHROPIC_BATCH) == "3"
    rows = _llm_rows(server, tenant_key)
    [standard] = [Decimal(r["cost_usd"]) for r in rows if r["customer"] == "standard"]
    batch = sorted(Decimal(r["cost_usd"]) for r in rows if r["customer"] == "batch")
    assert standard > 0 and batch == [0, standard / 2, standard / 2]  # the errored request: a failed call, $0
    by_customer = server.get("/api/v1/costs/breakdown", tenant_key, group_by="customer").json()["rows"]
    [row] = [r for r in by_customer if r["key"] == "batch"]
    assert (row["calls"], row["failed_calls"], row["input_tokens"]) == (3, 1, 8000)
