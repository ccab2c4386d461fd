#!/usr/bin/env python3
"""Ingest throughput beside a reference: for each run (C concurrent exporters of B spans each), send
N spans of agent traffic over OTLP/gRPC first to rotel (a Rust OpenTelemetry collector, its
blackhole exporter: the cost of receiving alone) and then to `llmobserve serve` on a fresh
embedded store, and print both rates and their ratio. Both runs use the same client, requests and
machine, one after the other.

An export is acknowledged only after its spans are written, so acknowledged == stored; the
script still checks the stored count through the API afterwards.

    python bench/ingest.py [--spans 200000] [--runs 8x512,16x512,8x8192]

rotel comes from PyPI (`pip install rotel`, which ships the binary; `make bench` installs it);
without it only our rate is printed.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import grpc
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import build_requests, llm_span_count  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.CANCELLED,
             grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(data_dir: str, extra_args: list[str], key: str | None = None) -> tuple[subprocess.Popen[str], str, str, str]:
    """Start `llmobserve serve`; ``key`` when the store already has one (only a first start prints one)."""
    grpc_port, http_port = _free_port(), _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llmobserve", "serve", "--data-dir", data_dir,
                             "--grpc-port", str(grpc_port), "--http-port", str(http_port), *extra_args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"llmo_[0-9a-f]{12}_[A-Za-z0-9_\-]+", line)
        key = key or (found.group(0) if found else None)
        if line.startswith("Stop with Ctrl-C"):
            break
    if key is None or proc.poll() is not None:
        proc.kill()
        raise SystemExit("server did not start")
    def drain() -> None:  # keep the pipe drained; echo the server's log lines when asked to
        for line in proc.stdout:  # type: ignore[union-attr]
            if extra_args:
                sys.stderr.write(line)

    threading.Thread(target=drain, daemon=True).start()
    return proc, f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}", key


def _send(target: str, key: str, requests: list[tuple[bytes, int]], concurrency: int) -> tuple[int, float, int, list[str]]:
    channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 64 << 20)])
    call = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
    metadata = [("authorization", f"Bearer {key}")]
    lock, state = threading.Lock(), {"next": 0, "acked": 0, "retries": 0}
    errors: list[str] = []

    def worker() -> None:
        while True:
            with lock:
                if state["next"] >= len(requests):
                    return
                body, n = requests[state["next"]]
                state["next"] += 1
            for attempt in range(100):
                try:
                    call(body, metadata=metadata, timeout=60)
                    with lock:
                        state["acked"] += n
                    break
                except grpc.RpcError as exc:
                    if exc.code() in RETRYABLE:
                        with lock:
                            state["retries"] += 1
                        time.sleep(0.05 * (attempt + 1))
                        continue
                    errors.append(str(exc.code()))
                    break

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    channel.close()
    return state["acked"], elapsed, state["retries"], errors


def _cpu_ticks(root: int) -> Counter[str]:
    """CPU ticks so far of every thread of process ``root`` and its children, by thread name
    (Linux /proc; the server's decode workers are its children)."""
    pids, ticks = [root], Counter[str]()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == root:
                    pids.append(int(entry.name))
            except (OSError, IndexError):
                continue
    for pid in pids:
        role = "server" if pid == root else "decode worker"
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                ticks[f"{role}: {(task / 'comm').read_text().strip()}"] += int(fields[11]) + int(fields[12])
            except OSError:
                continue
    return ticks


def _print_cpu(before: Counter[str], after: Counter[str], seconds: float) -> None:
    used = {name: (after[name] - before.get(name, 0)) / os.sysconf("SC_CLK_TCK") / seconds for name in after}
    print(f"    CPU while sending, in cores ({os.cpu_count()} here; threads of a name summed):", flush=True)
    for name, cores in sorted(used.items(), key=lambda item: -item[1]):
        if cores >= 0.01:
            print(f"      {cores:5.2f}  {name}")


def _rotel_binary() -> Path | None:
    try:
        import rotel
    except ImportError:
        return None
    found = Path(rotel.__file__).parent / "rotel-agent"
    return found if found.exists() else None


def _rotel_rate(binary: Path, requests: list[tuple[bytes, int]], concurrency: int) -> float:
    grpc_port, http_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory(prefix="rotel-") as tmp:
        proc = subprocess.Popen([str(binary), "start", "--exporter", "blackhole",
                                 "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
                                 "--otlp-http-endpoint", f"127.0.0.1:{http_port}", "--pid-file", f"{tmp}/rotel.pid"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            target = f"127.0.0.1:{grpc_port}"
            with grpc.insecure_channel(target) as probe:
                grpc.channel_ready_future(probe).result(timeout=10)
            acked, elapsed, _, errors = _send(target, "none", requests, concurrency)
            if errors:
                raise SystemExit(f"rotel refused {len(errors)} exports: {errors[:3]}")
            return acked / elapsed
        finally:
            proc.terminate()
            proc.wait(30)


def _ours(args: argparse.Namespace, requests: list[tuple[bytes, int]], batch: int, concurrency: int) -> float:
    with tempfile.TemporaryDirectory(prefix="llmobserve-bench-") as data_dir:
        proc, target, http_url, key = _start_server(
            data_dir, ["--log-level", args.server_log_level] if args.server_log_level else [])
        try:
            warm = build_requests(2_000, batch, args.seed + 1)  # first-call costs (catalogue, imports)
            _send(target, key, warm, 1)
            before = _cpu_ticks(proc.pid) if args.cpu else None
            acked, elapsed, retries, errors = _send(target, key, requests, concurrency)
            if before is not None:
                _print_cpu(before, _cpu_ticks(proc.pid), elapsed)
            rows = httpx.get(f"{http_url}/api/v1/costs/breakdown", params={"group_by": "day"},
                             headers={"authorization": f"Bearer {key}"}, timeout=120).json()["rows"]
            stored_llm = sum(r["calls"] for r in rows)
        finally:
            proc.terminate()
            proc.wait(60)
    expected = llm_span_count(2_000) + llm_span_count(args.spans)
    if stored_llm != expected or errors:
        raise SystemExit(f"stored {stored_llm} LLM calls, expected {expected}; {len(errors)} errors: {errors[:3]}")
    print(f"    llmobserve: {acked} spans acknowledged in {elapsed:.2f} s, {retries} retries on backpressure, "
          f"{stored_llm} LLM calls stored (as expected)", flush=True)
    return acked / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--runs", default="8x512,16x512,8x8192",
                        help="comma-separated CONCURRENCYxBATCH: exporters, each waiting for its ack, and spans per export")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-rotel", action="store_true", help="skip the reference run")
    parser.add_argument("--cpu", action="store_true", help="print where the server's CPU went (Linux)")
    parser.add_argument("--server-log-level", default=None, help="echo the server's log at this level")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
