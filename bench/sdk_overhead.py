#!/usr/bin/env python3
"""Latency the SDK adds to an LLM call, beside its peers: the official openai SDK against the local
stand-in provider, instrumented vs plain, interleaved call by call so drift hits both sides equally.

The stand-in runs in its own process (as a real provider is remote). "Plain" runs the same client
with instrumentation suppressed (OTel's suppression keys, which every instrumentation here honours:
no span, no hooks, no tee). Each instrumentation runs in its own process (they patch globally)
and exports to the same live llmobserve server over OTLP/gRPC:

- llmobserve: ``observe()`` (the httpx instrumentation plus our capture, labels and pairing);
- stock httpx: opentelemetry-instrumentation-httpx alone, no hooks (the floor we build on), and
  the same with no span processor at all (its spans go nowhere);
- OpenInference's and OpenLLMetry's ``openai`` instrumentors (each alone, as their users run them).

Prints one table: added p50 per call, non-streaming and streaming, and the ratio to stock httpx.

    python bench/sdk_overhead.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import json
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
from opentelemetry.instrumentation.utils import suppress_http_instrumentation, suppress_instrumentation  # noqa: E402

import llmobserve  # noqa: E402
from ingest import _start_server  # noqa: E402

MODES = {
    "llmobserve": "llmobserve SDK",
    "httpx": "stock OTel httpx",
    "httpx-none": "stock OTel httpx, no export",
    "openinference": "OpenInference openai",
    "openllmetry": "OpenLLMetry openai",
}

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
                with suppress_instrumentation(), suppress_http_instrumentation():
                    plain.append(_one(client, stream))
    return plain, observed


def _result(mode: str, stream: bool, plain: list[float], observed: list[float]) -> str:
    added = (statistics.median(observed) - statistics.median(plain)) * 1e6
    added_p99 = (_quantile(observed, 0.99) - _quantile(plain, 0.99)) * 1e6
    return json.dumps({"mode": mode, "stream": stream, "plain_ms": statistics.median(plain) * 1e3,
                       "added_us": added, "added_p99_us": added_p99})


def _instrument(mode: str, standin_url: str, grpc_target: str, key: str) -> object:
    """Set ``mode`` up in this process; returns what to shut down after."""
    if mode == "llmobserve":
        llmobserve.observe(api_key=key, endpoint=grpc_target, service_name="sdk-bench",
                           provider_urls={f"{standin_url}/openai/v1": "openai"})
        return llmobserve
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    if mode != "httpx-none":
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
            endpoint=f"http://{grpc_target}", insecure=True, headers={"authorization": f"Bearer {key}"})))
    trace.set_tracer_provider(provider)
    if mode.startswith("httpx"):
        from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
        HTTPX2ClientInstrumentor().instrument(tracer_provider=provider)
    elif mode == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=provider)
    else:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OpenLLMetryInstrumentor

        OpenLLMetryInstrumentor().instrument(tracer_provider=provider)
    return provider


def _run_mode(mode: str, calls: int, standin_url: str, grpc_target: str, key: str) -> None:
    """One instrumentation in this process: prints one JSON line per streaming mode."""
    running = _instrument(mode, standin_url, grpc_target, key)
    client = openai.OpenAI(base_url=f"{standin_url}/openai/v1", api_key="bench", max_retries=0)
    _measure(client, 200, False)  # warm-up: imports, connections, caches
    for stream in (False, True):
        print(_result(mode, stream, *_measure(client, calls, stream)), flush=True)
    running.shutdown()  # type: ignore[attr-defined]


def _table(results: list[dict[str, object]], calls: int) -> None:
    added = {(r["mode"], r["stream"]): float(r["added_us"]) for r in results}  # type: ignore[arg-type]
    plain = {(r["mode"], r["stream"]): float(r["plain_ms"]) for r in results}  # type: ignore[arg-type]
    print(f"\nadded latency per call, p50 of {calls} interleaved calls per side, openai SDK {openai.__version__}")
    print(f"{'instrumentation':30} {'non-streaming':>14} {'x httpx':>8} {'streaming':>11} {'x httpx':>8}"
          f" {'plain p50 (ms)':>15}")
    for mode, label in MODES.items():
        cells = []
        for stream in (False, True):
            value, floor = added.get((mode, stream)), added.get(("httpx", stream))
            ratio = f"{value / floor:7.2f}x" if value is not None and floor else "      -"
            cells.append(f"{value:11.0f} us {ratio}" if value is not None else f"{'-':>14} {'-':>8}")
        print(f"{label:30} {cells[0]} {cells[1]} {plain.get((mode, False), 0):15.2f}")


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
    parser.add_argument("--calls", type=int, default=2000, help="calls per mode and side (default 2000)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of " + ", ".join(MODES))
    parser.add_argument("--mode", nargs=4, metavar=("MODE", "STANDIN_URL", "GRPC", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        _run_mode(args.mode[0], args.calls, *args.mode[1:])
        return
    standin, standin_url = _standin_process()
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="llmobserve-sdk-bench-") as data_dir:
        proc, grpc_target, _, key = _start_server(data_dir, [])
        try:
            for mode in args.modes.split(","):
                done = subprocess.run([sys.executable, __file__, "--calls", str(args.calls), "--mode", mode,
                                       standin_url, grpc_target, key], check=True, capture_output=True, text=True)
                for line in done.stdout.splitlines():
                    results.append(json.loads(line))
                    print(f"  {mode:14} {'streaming' if results[-1]['stream'] else 'non-streaming':14} "
                          f"added p50 {results[-1]['added_us']:6.0f} us  p99 {results[-1]['added_p99_us']:6.0f} us",
                          flush=True)
        finally:
            proc.terminate()
            proc.wait(60)
            standin.communicate("")
    _table(results, args.calls)


if __name__ == "__main__":
    main()
