#!/usr/bin/env python3
"""Ingest throughput: start `llmobserve serve` on a fresh embedded store, send N spans of agent
traffic over OTLP/gRPC with C concurrent exporters, and print spans/s stored.

An export is acknowledged only after its spans are written, so acknowledged == stored; the
script still checks the stored count through the API afterwards.

    python bench/ingest.py [--spans 200000] [--batch 512] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--concurrency", type=int, default=16,
                        help="concurrent exporters, each waiting for its ack (default 16)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--server-log-level", default=None, help="echo the server's log at this level")
    args = parser.parse_args()

    print(f"building {args.spans} spans in requests of {args.batch}...", flush=True)
    requests = build_requests(args.spans, args.batch, args.seed)
    with tempfile.TemporaryDirectory(prefix="llmobserve-bench-") as data_dir:
        proc, target, http_url, key = _start_server(
            data_dir, ["--log-level", args.server_log_level] if args.server_log_level else [])
        try:
            warm = build_requests(2_000, args.batch, args.seed + 1)  # first-call costs (catalogue, imports)
            _send(target, key, warm, 1)
            acked, elapsed, retries, errors = _send(target, key, requests, args.concurrency)
            rows = httpx.get(f"{http_url}/api/v1/costs/breakdown", params={"group_by": "day"},
                             headers={"authorization": f"Bearer {key}"}, timeout=120).json()["rows"]
            stored_llm = sum(r["calls"] for r in rows)
        finally:
            proc.terminate()
            proc.wait(60)
    expected = llm_span_count(2_000) + llm_span_count(args.spans)
    print(f"spans_sent={args.spans} spans_acked={acked} seconds={elapsed:.2f} "
          f"spans_per_s={acked / elapsed:,.0f} retries_on_backpressure={retries} errors={len(errors)}")
    print(f"llm_calls_stored={stored_llm} expected={expected} "
          f"({'ok' if stored_llm == expected else 'MISMATCH'}; warm-up spans included)")


if __name__ == "__main__":
    main()
