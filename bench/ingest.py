#!/usr/bin/env python3
"""Ingest throughput beside a reference: for each run (C concurrent exporters of B spans each), send
N spans of agent traffic over OTLP/gRPC first to rotel (a Rust OpenTelemetry collector, its
blackhole exporter: the cost of receiving alone) and then to `llmobserve serve` on a fresh
embedded store, and print both rates and their ratio. Both runs use the same client, requests and
machine, one after the other.

An export is acknowledged only after its spans are written, so acknowledged == stored; the
script still checks the stored count through the API afterwards.

    python -m bench.ingest [--spans 200000] [--runs 8x512,16x512,8x8192]
    python -m bench.ingest --billing both --no-rotel --repeat 3   # billing off and on, alternating

With billing on, every export is checked against the workspace's plan (free, with an allowance it
never reaches, so the check runs in full and refuses nothing). Stripe itself is never called on
the ingest path, so its address here leads nowhere.

rotel comes from PyPI (`pip install rotel`, which ships the binary; `make bench` installs it);
without it only our rate is printed.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import grpc
import httpx

from bench._server import cpu_ticks, free_port, print_cpu, send, start_server
from bench.loadgen import build_requests, llm_span_count


def _rotel_binary() -> Path | None:
    try:
        import rotel
    except ImportError:
        return None
    found = Path(rotel.__file__).parent / "rotel-agent"
    return found if found.exists() else None


def _rotel_rate(binary: Path, requests: list[tuple[bytes, int]], concurrency: int) -> float:
    grpc_port, http_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="rotel-") as tmp:
        proc = subprocess.Popen(
            [
                str(binary),
                "start",
                "--exporter",
                "blackhole",
                "--otlp-grpc-endpoint",
                f"127.0.0.1:{grpc_port}",
                "--otlp-http-endpoint",
                f"127.0.0.1:{http_port}",
                "--pid-file",
                f"{tmp}/rotel.pid",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            target = f"127.0.0.1:{grpc_port}"
            with grpc.insecure_channel(target) as probe:
                grpc.channel_ready_future(probe).result(timeout=10)
            acked, elapsed, _, errors = send(target, "none", requests, concurrency)
            if errors:
                raise SystemExit(f"rotel refused {len(errors)} exports: {errors[:3]}")
            return acked / elapsed
        finally:
            proc.terminate()
            proc.wait(30)


BILLING_ENV = {
    "STRIPE_SECRET_KEY": "sk_test_bench",
    "STRIPE_WEBHOOK_SECRET": "whsec_bench",
    "LLMOBSERVE_STRIPE_PRICE_PRO": "price_bench",
    "LLMOBSERVE_STRIPE_API_BASE": "http://127.0.0.1:9",
    "LLMOBSERVE_FREE_SPANS": str(10**12),
}


def _ours(
    args: argparse.Namespace, requests: list[tuple[bytes, int]], batch: int, concurrency: int, billing: bool = False
) -> float:
    with tempfile.TemporaryDirectory(prefix="llmobserve-bench-") as data_dir:
        proc, target, http_url, key = start_server(
            data_dir,
            ["--log-level", args.server_log_level] if args.server_log_level else [],
            echo=bool(args.server_log_level),
            env=BILLING_ENV if billing else None,
        )
        try:
            warm = build_requests(2_000, batch, args.seed + 1)  # first-call costs (catalogue, imports)
            send(target, key, warm, 1)
            before = cpu_ticks(proc.pid) if args.cpu else None
            acked, elapsed, retries, errors = send(target, key, requests, concurrency)
            if before is not None:
                print_cpu(before, cpu_ticks(proc.pid), elapsed)
            rows = httpx.get(
                f"{http_url}/api/v1/costs/breakdown",
                params={"group_by": "day"},
                headers={"authorization": f"Bearer {key}"},
                timeout=120,
            ).json()["rows"]
            stored_llm = sum(r["calls"] for r in rows)
        finally:
            proc.terminate()
            proc.wait(60)
    expected = llm_span_count(2_000) + llm_span_count(args.spans)
    if stored_llm != expected or errors:
        raise SystemExit(f"stored {stored_llm} LLM calls, expected {expected}; {len(errors)} errors: {errors[:3]}")
    print(
        f"    llmobserve{' (billing on)' if billing else ''}: {acked} spans acknowledged in {elapsed:.2f} s, {retries} retries on backpressure, "
        f"{stored_llm} LLM calls stored (as expected)",
        flush=True,
    )
    return acked / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument(
        "--runs",
        default="8x512,16x512,8x8192",
        help="comma-separated CONCURRENCYxBATCH: exporters, each waiting for its ack, and spans per export",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-rotel", action="store_true", help="skip the reference run")
    parser.add_argument("--cpu", action="store_true", help="print where the server's CPU went (Linux)")
    parser.add_argument("--server-log-level", default=None, help="echo the server's log at this level")
    parser.add_argument(
        "--billing", choices=("off", "on", "both"), default="off", help="plan limits at ingest; both: side by side"
    )
    parser.add_argument("--repeat", type=int, default=1, help="with --billing both: alternate off/on this many times")
    args = parser.parse_args()
    if args.billing == "both":
        _billing_side_by_side(args)
        return
    rotel = None if args.no_rotel else _rotel_binary()
    if rotel is None and not args.no_rotel:
        print("rotel is not installed (pip install rotel): printing our rate only", flush=True)
    results = []
    for run in args.runs.split(","):
        concurrency, batch = (int(part) for part in run.lower().split("x"))
        print(f"{concurrency} exporters x {batch} spans: building {args.spans} spans...", flush=True)
        requests = build_requests(args.spans, batch, args.seed)
        reference = _rotel_rate(rotel, requests, concurrency) if rotel else None
        ours = _ours(args, requests, batch, concurrency)
        results.append((concurrency, batch, reference, ours))
    print()
    print(f"{'exporters':>9} {'spans/export':>12} {'rotel blackhole':>16} {'llmobserve':>11} {'ratio':>6}")
    for concurrency, batch, reference, ours in results:
        ref = f"{reference:,.0f}" if reference else "-"
        ratio = f"{ours / reference:.3f}" if reference else "-"
        print(f"{concurrency:>9} {batch:>12} {ref:>16} {ours:>11,.0f} {ratio:>6}")


def _gate_cost_us(exports: int = 200_000) -> float:
    """What the ingest gate adds to one export, in process: its check and its count, on a real control
    store (read every 2 s per workspace, as in the server). Microseconds per export."""
    import time

    from llmobserve.billing import BillingConfig, PlanGate
    from llmobserve.control import ControlStore, default_url

    with tempfile.TemporaryDirectory(prefix="llmobserve-gate-") as data_dir:
        store = ControlStore.open(default_url(Path(data_dir)))
        store.ensure_tenant("bench")
        gate = PlanGate(store.billing, BillingConfig("sk", "whsec", "price", free_spans=10**12), "http://x/billing")
        started = time.perf_counter()
        for _ in range(exports):
            if gate.refusal("bench") is None:
                gate.accepted("bench", 512)
        elapsed = time.perf_counter() - started
        gate.close()
        store.close()
    return elapsed / exports * 1e6


def _billing_side_by_side(args: argparse.Namespace) -> None:
    """Billing off and on, alternating on the same requests: the machine's noise falls on both."""
    print(f"the gate's check and count: {_gate_cost_us():.2f} us per export, in process", flush=True)
    rows = []
    for run in args.runs.split(","):
        concurrency, batch = (int(part) for part in run.lower().split("x"))
        print(f"{concurrency} exporters x {batch} spans: building {args.spans} spans...", flush=True)
        requests = build_requests(args.spans, batch, args.seed)
        off, on = [], []
        for _ in range(args.repeat):
            off.append(_ours(args, requests, batch, concurrency, billing=False))
            on.append(_ours(args, requests, batch, concurrency, billing=True))
        rows.append((concurrency, batch, sum(off) / len(off), sum(on) / len(on)))
    print()
    print(f"{'exporters':>9} {'spans/export':>12} {'billing off':>12} {'billing on':>11} {'on/off':>7}")
    for concurrency, batch, off_rate, on_rate in rows:
        print(f"{concurrency:>9} {batch:>12} {off_rate:>12,.0f} {on_rate:>11,.0f} {on_rate / off_rate:>7.3f}")


if __name__ == "__main__":
    main()
