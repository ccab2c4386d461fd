#!/usr/bin/env python3
"""Measurement prototype, not product code: the latency our capture would add WITHOUT
opentelemetry-instrumentation-httpx, through a minimal wrapper around httpx's transport that spans
provider calls only (same hooks, stream tee, pairing and OTLP export as the SDK). It sizes the
option discussed in the issue-3 note; the SDK itself captures through the OTel httpx instrumentation.

    python bench/sdk_overhead_lean_prototype.py [--calls 3000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
import openai  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

from _server import start_server  # noqa: E402
from llmobserve.instrumentation._capture import Capture  # noqa: E402
from llmobserve.instrumentation._exporter import QuietExporter  # noqa: E402
from llmobserve.instrumentation._pairing import PairingProcessor  # noqa: E402
from llmobserve.instrumentation._processor import LabelProcessor  # noqa: E402
from llmobserve.instrumentation._providers import ProviderMatcher  # noqa: E402
from sdk_overhead import _standin_process  # noqa: E402

MESSAGES = [{"role": "user", "content": "hi"}]


def _install(provider: TracerProvider, labels: LabelProcessor, base_url: str) -> list[bool]:
    matcher = ProviderMatcher({f"{base_url}/openai/v1": "openai"})
    capture = Capture(matcher, False, labels.is_foreign_llm_child)
    tracer = provider.get_tracer("opentelemetry.instrumentation.httpx")  # the scope pairing expects
    original = httpx.HTTPTransport.handle_request
    enabled = [True]

    def handle(self: Any, request: httpx.Request) -> httpx.Response:
        url = request.url
        if not enabled[0] or matcher.match(str(url), f"{url.host}:{url.port}", url.path) is None:
            return original(self, request)
        with tracer.start_as_current_span(request.method, kind=SpanKind.CLIENT) as span:
            capture.request_hook(span, request)
            response = original(self, request)
            span.set_attribute("http.response.status_code", response.status_code)
            capture.response_hook(span, request, response)
            return response

    httpx.HTTPTransport.handle_request = handle  # type: ignore[method-assign]
    return enabled


def _one(client: openai.OpenAI, stream: bool) -> float:
    started = time.perf_counter()
    if stream:
        for _ in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True,  # type: ignore[arg-type]
                                                stream_options={"include_usage": True}):
            pass
    else:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    standin, base_url = _standin_process()
    with tempfile.TemporaryDirectory(prefix="llmobserve-lean-") as data_dir:
        server, grpc_target, _, key = start_server(data_dir, [])
        try:
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
            labels = LabelProcessor()
            provider.add_span_processor(labels)
            exporter = OTLPSpanExporter(endpoint=f"http://{grpc_target}", insecure=True,
                                        headers={"authorization": f"Bearer {key}"})
            provider.add_span_processor(PairingProcessor(BatchSpanProcessor(QuietExporter(exporter, grpc_target))))
            enabled = _install(provider, labels, base_url)
            client = openai.OpenAI(base_url=f"{base_url}/openai/v1", api_key="bench", max_retries=0)
            for _ in range(200):
                _one(client, False)
            for stream in (False, True):
                observed, plain = [], []
                for _ in range(args.calls):
                    enabled[0] = True
                    observed.append(_one(client, stream))
                    enabled[0] = False
                    plain.append(_one(client, stream))
                added = (statistics.median(observed) - statistics.median(plain)) * 1e6
                print(f"lean prototype, {'streaming' if stream else 'non-streaming'}: added p50 {added:.0f} us")
            provider.shutdown()
        finally:
            server.terminate()
            server.wait(60)
            standin.communicate("")


if __name__ == "__main__":
    main()
