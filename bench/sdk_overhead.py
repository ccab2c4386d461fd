#!/usr/bin/env python3
"""Latency the SDK adds to an LLM call: the official openai SDK against the local stand-in
provider, instrumented vs plain, interleaved call by call so drift hits both sides equally.

The stand-in runs in its own process (as a real provider is remote). "Plain" runs the same client with OpenTelemetry's HTTP instrumentation suppressed (no span, no
hooks, no tee); "instrumented" is the full path (span, request parsing, stream tee, usage parse,
labels) exporting to a live llmobserve server. A second process measures the floor we build on:
stock opentelemetry-instrumentation-httpx with no hooks, exporting the same spans over OTLP; a
third the same instrumentation with no span processor at all (its spans go nowhere).

    python bench/sdk_overhead.py [--calls 5000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import openai  # noqa: E402
from opentelemetry.instrumentation.utils import suppress_http_instrumentation  # noqa: E402

import llmobserve  # noqa: E402
from ingest import _start_server  # noqa: E402

MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello."}]


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _one(client: openai.OpenAI, stream: bool) -> float:
    started = time.perf_counter()
    if stream:
        for _ in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True,
                                                stream_options={"include_usage": True}):
            pass
    else:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    return time.perf_counter() - started


def _measure(client: openai.OpenAI, calls: int, stream: bool) -> tuple[list[float], list[float]]:
    plain: list[float] = []
    observed: list[float] = []
    for i in range(calls):
        # alternate the order too, so neither side always runs on a warm connection first
        for instrumented in ((True, False) if i % 2 else (False, True)):
            if instrumented:
                observed.append(_one(client, stream))
            else:
                with suppress_http_instrumentation():
                    plain.append(_one(client, stream))
    return plain, observed


def _report(label: str, plain: list[float], observed: list[float]) -> None:
    p50 = (statistics.median(observed) - statistics.median(plain)) * 1e6
    p99 = (_quantile(observed, 0.99) - _quantile(plain, 0.99)) * 1e6
    print(f"{label:34s} plain p50 {statistics.median(plain) * 1e3:.2f} ms | added p50 {p50:6.0f} us  p99 {p99:6.0f} us",
          flush=True)


def _otel_only(calls: int, standin_url: str, grpc_target: str, key: str) -> None:
    """The floor: OpenTelemetry's httpx instrumentation alone (no llmobserve), same export; with
    grpc_target "none", spans go to no processor at all (the instrumentation's own cost)."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    if grpc_target != "none":
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
            endpoint=f"http://{grpc_target}", insecure=True, headers={"authorization": f"Bearer {key}"})))
    label = "stock OTel httpx only" if grpc_target != "none" else "stock OTel httpx, no export"
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    HTTPX2ClientInstrumentor().instrument(tracer_provider=provider)
    client = openai.OpenAI(base_url=f"{standin_url}/openai/v1", api_key="bench", max_retries=0)
    _measure(client, 200, False)
    for stream in (False, True):
        _report(f"{'streaming' if stream else 'non-streaming'}, {label}", *_measure(client, calls, stream))
    provider.shutdown()


def _standin_process() -> tuple[subprocess.Popen[str], str]:
    """The stand-in provider in its own process, as a real provider is: sharing the client's GIL
    would charge the server's work to whichever side happens to hold it."""
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from tests.standin.provider import StandInProvider, Usage\n"
            "with StandInProvider(usage=Usage(input=1200, output=80, cache_read=256)) as p:\n"
            "    print(p.url, flush=True)\n"
            "    sys.stdin.read()\n") % str(ROOT)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5000, help="calls per mode and side (default 5000)")
    parser.add_argument("--otel-only", nargs=3, metavar=("STANDIN_URL", "GRPC", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.otel_only:
        _otel_only(args.calls, *args.otel_only)
        return
    standin, standin_url = _standin_process()
    with tempfile.TemporaryDirectory(prefix="llmobserve-sdk-bench-") as data_dir:
        proc, grpc_target, _, key = _start_server(data_dir, [])
        try:
            llmobserve.observe(api_key=key, endpoint=grpc_target, service_name="sdk-bench",
                                    provider_urls={f"{standin_url}/openai/v1": "openai"})
            client = openai.OpenAI(base_url=f"{standin_url}/openai/v1", api_key="bench", max_retries=0)
            _measure(client, 200, False)  # warm-up: imports, connections, caches
            print(f"{args.calls} calls per side, openai SDK {openai.__version__}, same stand-in server")
            for stream in (False, True):
                _report(f"{'streaming' if stream else 'non-streaming'}, llmobserve SDK", *_measure(client, args.calls, stream))
            llmobserve.shutdown()
            for target in (grpc_target, "none"):
                subprocess.run([sys.executable, __file__, "--calls", str(args.calls), "--otel-only", standin_url,
                                target, key], check=True)
        finally:
            proc.terminate()
            proc.wait(60)
            standin.communicate("")


if __name__ == "__main__":
    main()
