#!/usr/bin/env python3
"""Query latency at scale: seed N spans (default 10 million: 30 days, 50 customers, 20 agents,
8 models) into embedded chDB, start `llmobserve serve` on that data dir and time the HTTP API
a dashboard calls. Prints p50 / p95 per endpoint.

    python -m bench.query [--spans 10000000] [--requests 30] [--data-dir DIR (reuse a seeded dir)]

Targets (issue 5): p50 <= 100 ms for each aggregate, <= 50 ms for a trace tree.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench._server import start_server
from bench.query_seed import SPANS_PER_RUN

ROOT = Path(__file__).resolve().parent.parent

TARGET_MS = {"aggregate": 100.0, "tree": 50.0}


def _seed(data_dir: str, spans: int) -> float:
    """Seed in a child process: embedded chDB locks the dir to one process, the server needs it next."""
    started = time.perf_counter()
    code = f"from bench.query_seed import seed\nprint(seed({data_dir!r}, {spans}, days=30, customers=50, agents=20))\n"
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True).stdout
    (Path(data_dir) / "bench_key").write_text(out.strip().splitlines()[-1])
    return time.perf_counter() - started


def _wait_ready(client: httpx.Client, timeout: float = 1800) -> float:
    """Seconds until the server reports its rollups caught up (they are built in the background)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        body = client.get("/healthz").json()
        if body.get("rollups_pending") == 0:
            return time.perf_counter() - started
        time.sleep(1)
    raise SystemExit("rollups did not catch up")


def _time(client: httpx.Client, path: str, params: dict[str, str], n: int) -> tuple[float, float]:
    samples = []
    for i in range(n + 3):
        started = time.perf_counter()
        response = client.get(path, params=params)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path} {params}: HTTP {response.status_code} {response.text[:300]}")
        if i >= 3:  # the first calls warm caches, as a dashboard's first paint does
            samples.append(elapsed)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def _trace_ids(spans: int, count: int) -> list[str]:
    runs = spans // SPANS_PER_RUN
    return [hashlib.md5(str(random.randrange(runs)).encode()).hexdigest() for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per endpoint (default 30)")
    parser.add_argument("--data-dir", help="a dir seeded by an earlier run (kept); default a fresh temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmobserve-query-bench-") as tmp:
        data_dir = args.data_dir or tmp
        if not (Path(data_dir) / "store_seeded").exists():
            seconds = _seed(data_dir, args.spans)
            (Path(data_dir) / "store_seeded").write_text(str(args.spans))
            print(f"seeded {args.spans:,} spans in {seconds:.1f} s", flush=True)
        spans = int((Path(data_dir) / "store_seeded").read_text())
        proc, _, http_url, key = start_server(data_dir, [], key=(Path(data_dir) / "bench_key").read_text())
        try:
            client = httpx.Client(base_url=http_url, headers={"authorization": f"Bearer {key}"}, timeout=600)
            print(f"rollups ready {_wait_ready(client):.1f} s after start", flush=True)
            random.seed(7)
            ids = iter(_trace_ids(spans, args.requests + 3))
            cases = [
                ("aggregate", "breakdown by model, 30 days", "/api/v1/costs/breakdown", {"group_by": "model"}),
                ("aggregate", "breakdown by customer, 30 days", "/api/v1/costs/breakdown", {"group_by": "customer"}),
                (
                    "aggregate",
                    "breakdown by agent, filtered to 1 model",
                    "/api/v1/costs/breakdown",
                    {"group_by": "agent", "model": "gpt-4o"},
                ),
                (
                    "aggregate",
                    "breakdown by session (top 1000), 30 days",
                    "/api/v1/costs/breakdown",
                    {"group_by": "session"},
                ),
                (
                    "aggregate",
                    "one session's cost by model",
                    "/api/v1/costs/breakdown",
                    {"group_by": "model", "session": "sess_1234"},
                ),
                ("aggregate", "summary (24 h, 7 d, top 5s)", "/api/v1/costs/summary", {}),
                ("aggregate", "timeseries, 30 daily buckets", "/api/v1/costs/timeseries", {"interval": "day"}),
                (
                    "aggregate",
                    "timeseries, 720 hourly x model",
                    "/api/v1/costs/timeseries",
                    {"interval": "hour", "group_by": "model"},
                ),
                ("aggregate", "runs, newest first", "/api/v1/traces", {"sort": "time"}),
                ("aggregate", "runs, costliest first", "/api/v1/traces", {"sort": "cost"}),
            ]
            print(f"{spans:,} spans, {args.requests} timed requests each (after 3 warm-up)")
            print(f"{'endpoint':42s} {'p50 ms':>8s} {'p95 ms':>8s}  target")
            for kind, label, path, params in cases:
                p50, p95 = _time(client, path, params, args.requests)
                mark = "ok" if p50 <= TARGET_MS[kind] else "MISSED"
                print(f"{label:42s} {p50:8.1f} {p95:8.1f}  p50 <= {TARGET_MS[kind]:.0f} {mark}", flush=True)
            tree_samples = []
            for trace_id in ids:
                started = time.perf_counter()
                response = client.get(f"/api/v1/traces/{trace_id}")
                tree_samples.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"trace {trace_id}: HTTP {response.status_code}")
            tree_samples = sorted(tree_samples[3:])
            p50, p95 = statistics.median(tree_samples), tree_samples[int(0.95 * len(tree_samples))]
            mark = "ok" if p50 <= TARGET_MS["tree"] else "MISSED"
            print(f"{'trace tree (a different run each time)':42s} {p50:8.1f} {p95:8.1f}  p50 <= 50 {mark}")
        finally:
            proc.terminate()
            proc.wait(120)


if __name__ == "__main__":
    main()
