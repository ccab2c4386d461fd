"""observe(): configuration, attaching to an app's provider, idempotence, and a dead receiver."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from llmobserve.instrumentation._setup import _exporter_endpoint
from tests.conftest import ROOT, free_port


@pytest.mark.parametrize(
    "endpoint, protocol, expected",
    [
        (None, "grpc", "http://127.0.0.1:4317"),
        (None, "http", "http://127.0.0.1:4318/v1/traces"),
        ("collector:4317", "grpc", "http://collector:4317"),
        ("https://llmobserve.example.com", "grpc", "https://llmobserve.example.com:4317"),
        ("http://10.0.0.5:4318", "http", "http://10.0.0.5:4318/v1/traces"),
        ("http://10.0.0.5:4318/v1/traces", "http", "http://10.0.0.5:4318/v1/traces"),
        ("https://gw.example.com:443/otlp", "http", "https://gw.example.com:443/otlp/v1/traces"),
    ],
)
def test_endpoint_forms(endpoint, protocol, expected, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("LLMOBSERVE_ENDPOINT", raising=False)
    assert _exporter_endpoint(endpoint, protocol) == expected


def test_endpoint_from_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LLMOBSERVE_ENDPOINT", "otel-gw:5317")
    assert _exporter_endpoint(None, "grpc") == "http://otel-gw:5317"


def test_bad_endpoint_is_refused() -> None:
    with pytest.raises(ValueError, match="host:port"):
        _exporter_endpoint("ftp://x", "grpc")


def _run(code: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **env},
    )


def test_missing_api_key_is_a_clear_error() -> None:
    done = _run(
        """
        import llmobserve
        try:
            llmobserve.observe()
        except ValueError as exc:
            print("refused:", exc)
    """,
        LLMOBSERVE_API_KEY="",
    )
    assert "refused: no API key" in done.stdout and "keys create" in done.stdout


def test_nothing_is_patched_until_observe_and_twice_is_harmless() -> None:
    done = _run("""
        import httpx2, httpx
        before = (httpx.HTTPTransport.handle_request, httpx2.HTTPTransport.handle_request)
        import llmobserve
        from llmobserve import agent, customer
        assert (httpx.HTTPTransport.handle_request, httpx2.HTTPTransport.handle_request) == before, "patched at import"
        first = llmobserve.observe(api_key="llmo_x", endpoint="127.0.0.1:9")
        assert httpx.HTTPTransport.handle_request is not before[0], "observe() did not instrument httpx"
        second = llmobserve.observe(api_key="llmo_other", endpoint="127.0.0.1:10")
        assert second is first
        print("ok", len(first.provider._active_span_processor._span_processors))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", "2"]  # labels + batch export, once


def test_attaches_to_the_apps_own_provider_instead_of_replacing_it() -> None:
    done = _run("""
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        mine = TracerProvider(resource=Resource.create({"service.name": "the-app"}))
        memory = InMemorySpanExporter()
        mine.add_span_processor(SimpleSpanProcessor(memory))
        trace.set_tracer_provider(mine)
        import llmobserve
        obs = llmobserve.observe(api_key="llmo_x", endpoint="127.0.0.1:9", service_name="ignored")
        assert obs.provider is mine and trace.get_tracer_provider() is mine
        with llmobserve.customer("c1"):
            trace.get_tracer("app").start_span("app work").end()
        [span] = memory.get_finished_spans()
        print(span.resource.attributes["service.name"], span.attributes["llmobserve.customer.id"])
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["the-app", "c1"]


def test_receiver_down_never_blocks_or_raises_and_warns_once(standin) -> None:  # type: ignore[no-untyped-def]
    dead = free_port()
    started = time.monotonic()
    done = _run(
        f"""
        import logging, time
        logging.basicConfig(level=logging.INFO)
        import openai, llmobserve
        llmobserve.observe(api_key="llmo_x", endpoint="127.0.0.1:{dead}",
                                provider_urls={{"{standin.url}/openai/v1": "openai"}})
        client = openai.OpenAI(base_url="{standin.url}/openai/v1", api_key="t", max_retries=0)
        worst = 0.0
        for i in range(30):
            t = time.perf_counter()
            client.chat.completions.create(model="gpt-4o", messages=[{{"role": "user", "content": "hi"}}])
            worst = max(worst, time.perf_counter() - t)
            time.sleep(0.1)  # let the exporter fail a few times in the background
        print("calls ok, slowest call", round(worst, 3))
    """,
        timeout=90,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "calls ok" in done.stdout
    assert float(done.stdout.split()[-1]) < 1.0  # no call waits for the exporter
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert len(warnings) == 1 and "cannot deliver spans" in warnings[0], done.stderr
    assert elapsed < 30  # exit does not hang on the dead receiver


def test_content_is_captured_only_when_asked(standin) -> None:  # type: ignore[no-untyped-def]
    script = f"""
        import json
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import openai, llmobserve
        obs = llmobserve.observe(api_key="llmo_x", endpoint="127.0.0.1:9", capture_content=CAPTURE,
                                      provider_urls={{"{standin.url}/openai/v1": "openai"}})
        memory = InMemorySpanExporter()
        obs.provider.add_span_processor(SimpleSpanProcessor(memory))
        client = openai.OpenAI(base_url="{standin.url}/openai/v1", api_key="t", max_retries=0)
        client.chat.completions.create(model="gpt-4o", messages=[{{"role": "user", "content": "secret prompt"}}])
        for _ in client.chat.completions.create(model="gpt-4o", messages=[{{"role": "user", "content": "p2"}}],
                                                stream=True):
            pass
        obs.flush(2_000)  # spans end on the SDK's background thread, just after the body ends
        for span in memory.get_finished_spans():
            print(json.dumps({{k: v for k, v in span.attributes.items() if k.startswith("gen_ai.input")
                              or k.startswith("gen_ai.output")}}))
    """
    import json

    with ThreadPoolExecutor(2) as both:  # each waits for its exporter to give up on exit: at once
        on, off = both.map(lambda capture: _run(f"CAPTURE = {capture}\n" + textwrap.dedent(script)), (True, False))
    assert on.returncode == 0 and off.returncode == 0, on.stderr + off.stderr
    captured = [json.loads(line) for line in on.stdout.splitlines()]
    assert len(captured) == 2 and all("gen_ai.input.messages" in c and "gen_ai.output.messages" in c for c in captured)
    assert "secret prompt" in captured[0]["gen_ai.input.messages"]
    assert json.loads(captured[1]["gen_ai.output.messages"])[0]["parts"][0]["content"]  # streamed text joined
    assert [json.loads(line) for line in off.stdout.splitlines()] == [{}, {}]
