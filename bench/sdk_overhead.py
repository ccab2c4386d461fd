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

The mode processes run side by side: every mode is started first, then the calls go in rounds
(each round, each mode in turn does calls/rounds interleaved pairs, the order rotating per round),
so the machine's drift over the run hits every mode alike; a round's figures alone show the noise.

Prints one table: added p50 per call, non-streaming and streaming, and the ratio to stock httpx.

    python -m bench.sdk_overhead [--calls 2000] [--rounds 5]
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

import openai
from opentelemetry.instrumentation.utils import suppress_http_instrumentation, suppress_instrumentation

import llmobserve
from bench._server import start_server

ROOT = Path(__file__).resolve().parent.parent

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
        for _ in client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        ):
            pass
    else:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    return time.perf_counter() - started


def _measure(client: openai.OpenAI, calls: int, stream: bool) -> tuple[list[float], list[float]]:
    plain: list[float] = []
    observed: list[float] = []
    for i in range(calls):
        # alternate the order too, so neither side always runs on a warm connection first
        for instrumented in (True, False) if i % 2 else (False, True):
            if instrumented:
                observed.append(_one(client, stream))
            else:
                with suppress_instrumentation(), suppress_http_instrumentation():
                    plain.append(_one(client, stream))
    return plain, observed


def _added(plain: list[float], observed: list[float]) -> tuple[float, float]:
    """Added p50 and p99 in microseconds."""
    return (
        (statistics.median(observed) - statistics.median(plain)) * 1e6,
        (_quantile(observed, 0.99) - _quantile(plain, 0.99)) * 1e6,
    )


def _instrument(mode: str, standin_url: str, grpc_target: str, key: str) -> object:
    """Set ``mode`` up in this process; returns what to shut down after."""
    if mode == "llmobserve":
        llmobserve.observe(
            api_key=key,
            endpoint=grpc_target,
            service_name="sdk-bench",
            provider_urls={f"{standin_url}/openai/v1": "openai"},
        )
        return llmobserve
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    if mode != "httpx-none":
        provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(
                    endpoint=f"http://{grpc_target}", insecure=True, headers={"authorization": f"Bearer {key}"}
                )
            )
        )
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


def _run_mode(mode: str, standin_url: str, grpc_target: str, key: str) -> None:
    """One instrumentation in this process, measuring on command: reads "<stream 0|1> <calls>" lines,
    answers each with one JSON line of the plain and observed call times (seconds)."""
    running = _instrument(mode, standin_url, grpc_target, key)
    client = openai.OpenAI(base_url=f"{standin_url}/openai/v1", api_key="bench", max_retries=0)
    _measure(client, 200, False)  # warm-up: imports, connections, caches
    _measure(client, 50, True)
    print("ready", flush=True)
    for line in sys.stdin:
        stream, calls = line.split()
        plain, observed = _measure(client, int(calls), stream == "1")
        print(json.dumps({"plain": plain, "observed": observed}), flush=True)
    running.shutdown()  # type: ignore[attr-defined]


def _table(
    samples: dict[tuple[str, bool], tuple[list[float], list[float]]],
    rounds: dict[tuple[str, bool], list[float]],
    calls: int,
    modes: list[str],
) -> None:
    added = {k: _added(*v)[0] for k, v in samples.items()}
    print(
        f"\nadded latency per call, p50 of {calls} interleaved calls per side in {len(rounds[modes[0], False])} "
        f"rounds, openai SDK {openai.__version__}"
    )
    print(
        f"{'instrumentation':30} {'non-streaming':>14} {'x httpx':>8} {'streaming':>11} {'x httpx':>8}"
        f" {'plain p50 (ms)':>15}"
    )
    for mode in modes:
        cells = []
        for stream in (False, True):
            value, floor = added.get((mode, stream)), added.get(("httpx", stream))
            ratio = f"{value / floor:7.2f}x" if value is not None and floor else "      -"
            cells.append(f"{value:11.0f} us {ratio}" if value is not None else f"{'-':>14} {'-':>8}")
        plain = statistics.median(samples[mode, False][0]) * 1e3
        print(f"{MODES[mode]:30} {cells[0]} {cells[1]} {plain:15.2f}")
    print("\nper round (added p50, us), to judge the noise:")
    for (mode, stream), values in sorted(rounds.items()):
        print(f"  {mode:14} {'streaming' if stream else 'non-streaming':14} " + " ".join(f"{v:5.0f}" for v in values))


def _standin_process() -> tuple[subprocess.Popen[str], str]:
    """The stand-in provider in its own process, as a real provider is: sharing the client's GIL
    would charge the server's work to whichever side happens to hold it."""
    code = (
        "import sys\n"
        "from tests.standin.provider import StandInProvider, Usage\n"
        "with StandInProvider(usage=Usage(input=1200, output=80, cache_read=256)) as p:\n"
        "    print(p.url, flush=True)\n"
        "    sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls per mode and side (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds the calls are spread over (default 5)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of " + ", ".join(MODES))
    parser.add_argument("--mode", nargs=4, metavar=("MODE", "STANDIN_URL", "GRPC", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        _run_mode(*args.mode)
        return
    modes = args.modes.split(",")
    per_round = max(1, args.calls // args.rounds)
    samples: dict[tuple[str, bool], tuple[list[float], list[float]]] = {
        (m, s): ([], []) for m in modes for s in (False, True)
    }
    rounds: dict[tuple[str, bool], list[float]] = {key: [] for key in samples}
    standin, standin_url = _standin_process()
    with tempfile.TemporaryDirectory(prefix="llmobserve-sdk-bench-") as data_dir:
        proc, grpc_target, _, key = start_server(data_dir, [])
        workers = {
            m: subprocess.Popen(
                [sys.executable, "-m", "bench.sdk_overhead", "--mode", m, standin_url, grpc_target, key],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            for m in modes
        }
        try:
            for worker in workers.values():
                assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
            for r in range(args.rounds):
                for mode in modes[r % len(modes) :] + modes[: r % len(modes)]:
                    worker = workers[mode]
                    assert worker.stdin is not None and worker.stdout is not None
                    for stream in (False, True):
                        worker.stdin.write(f"{int(stream)} {per_round}\n")
                        worker.stdin.flush()
                        got = json.loads(worker.stdout.readline())
                        samples[mode, stream][0].extend(got["plain"])
                        samples[mode, stream][1].extend(got["observed"])
                        rounds[mode, stream].append(_added(got["plain"], got["observed"])[0])
                print(f"  round {r + 1}/{args.rounds} done", flush=True)
        finally:
            for worker in workers.values():
                worker.communicate("", timeout=120)
            proc.terminate()
            proc.wait(60)
            standin.communicate("")
    _table(samples, rounds, per_round * args.rounds, modes)


if __name__ == "__main__":
    main()
