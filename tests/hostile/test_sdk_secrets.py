"""The SDK never exports a secret: not a Gemini ``?key=``, not another service's ``?access_token=``,
not userinfo, whichever instrumentation made the span; and the app's non-LLM HTTP calls are not
exported at all unless ``observe(trace_all_http=True)``.

The app runs in a subprocess (``observe()`` patches httpx for the whole process) and exports over
OTLP/HTTP to a sink here, so the assertions read the very bytes that leave the app.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import ROOT
from tests.standin.provider import StandInProvider

GEMINI_KEY = "AIzaSECRETgemini0123456789abcdefghijkl"
OTHER_TOKEN = "SECRET2tokenOfAnotherService"
URL_KEYS = ("http.url", "url.full")


@dataclass
class Sink:
    """An OTLP/HTTP receiver that keeps every body, and an unrelated API the app also calls."""

    url: str
    bodies: list[bytes] = field(default_factory=list)

    def spans(self) -> list[dict[str, Any]]:
        found = []
        for body in self.bodies:
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        attributes = {
                            kv.key: getattr(kv.value, kv.value.WhichOneof("value") or "string_value")
                            for kv in span.attributes
                        }
                        found.append({"name": span.name, "scope": scope_spans.scope.name, **attributes})
        return found


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInProvider]:
    with StandInProvider() as provider:
        yield provider


@pytest.fixture
def sink() -> Iterator[Sink]:
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            bodies.append(gzip.decompress(body) if self.headers.get("content-encoding") == "gzip" else body)
            self._answer(b"", "application/x-protobuf")

        def do_GET(self) -> None:
            self._answer(b'{"items": []}', "application/json")

        def _answer(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Sink(f"http://127.0.0.1:{server.server_address[1]}", bodies)
    server.shutdown()
    server.server_close()


APP = """
    import httpx, llmobserve
    from opentelemetry import trace

    obs = llmobserve.observe(api_key="llmo_test", endpoint=SINK, protocol="http", trace_all_http=TRACE_ALL_HTTP,
                             provider_urls={STANDIN + "/gemini": "gcp.gemini"})
    model = STANDIN + "/gemini/v1beta/models/gemini-2.5-flash"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    with httpx.Client() as client:
        client.post(model + ":generateContent?key=" + GEMINI_KEY, json=body).raise_for_status()
        with client.stream("POST", model + ":streamGenerateContent?alt=sse&key=" + GEMINI_KEY, json=body) as answer:
            for _ in answer.iter_bytes():
                pass
        client.get(SINK + "/internal/items?access_token=" + OTHER_TOKEN + "&page=2").raise_for_status()

    # Another instrumentation's spans: a URL set at start, and one set after start.
    tracer = trace.get_tracer("another.instrumentation")
    with tracer.start_as_current_span("fetch", attributes={"url.full": "https://h.example/x?token=" + OTHER_TOKEN}):
        pass
    late = tracer.start_span("late url")
    late.set_attribute("http.url", "https://alice:" + OTHER_TOKEN + "@h.example/y?q=1")
    late.end()
    assert obs.flush(10_000)
    print("done")
"""


def _run_app(sink: Sink, standin: StandInProvider, trace_all_http: bool, **env: str) -> None:
    preamble = (
        f"SINK = {sink.url!r}\nSTANDIN = {standin.url!r}\nTRACE_ALL_HTTP = {trace_all_http!r}\n"
        f"GEMINI_KEY = {GEMINI_KEY!r}\nOTHER_TOKEN = {OTHER_TOKEN!r}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", preamble + textwrap.dedent(APP)],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
        env={**os.environ, **env},
    )
    assert done.returncode == 0 and "done" in done.stdout, done.stderr


def _assert_no_secret_left_the_app(sink: Sink) -> None:
    assert sink.bodies, "nothing was exported"
    for body in sink.bodies:  # names, attributes, events, resource: every byte sent
        for secret in (GEMINI_KEY, OTHER_TOKEN, "alice"):
            assert secret.encode() not in body


def _gemini_spans(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in spans if s.get("gen_ai.provider.name") == "gcp.gemini"]


def test_no_secret_is_exported_and_non_llm_calls_stay_home_by_default(sink: Sink, standin: StandInProvider) -> None:
    _run_app(sink, standin, trace_all_http=False)
    _assert_no_secret_left_the_app(sink)
    spans = sink.spans()
    gemini = _gemini_spans(spans)
    assert sorted(s["name"] for s in gemini) == ["generate_content gemini-2.5-flash"] * 2
    assert {s["http.url"].rsplit(":", 1)[1] for s in gemini} == {
        "generateContent?key=REDACTED",
        "streamGenerateContent?alt=sse&key=REDACTED",
    }
    assert not [s for s in spans if "internal/items" in str(s.get("http.url"))]  # the non-LLM call: not exported
    others = {s["name"]: s for s in spans if s["scope"] == "another.instrumentation"}
    assert others["fetch"]["url.full"] == "https://h.example/x?token=REDACTED"
    assert others["late url"]["http.url"] == "https://REDACTED@h.example/y?q=1"


def test_trace_all_http_exports_the_other_calls_redacted(sink: Sink, standin: StandInProvider) -> None:
    # "http/dup": the instrumentation writes both the old http.url and the stable url.full
    _run_app(sink, standin, trace_all_http=True, OTEL_SEMCONV_STABILITY_OPT_IN="http/dup")
    _assert_no_secret_left_the_app(sink)
    spans = sink.spans()
    [other] = [s for s in spans if "internal/items" in str(s.get("url.full"))]
    for key in URL_KEYS:
        assert other[key] == f"{sink.url}/internal/items?access_token=REDACTED&page=2"
    gemini = _gemini_spans(spans)
    assert len(gemini) == 2 and all(s[key].endswith("key=REDACTED") for s in gemini for key in URL_KEYS)
