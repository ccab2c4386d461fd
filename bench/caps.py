#!/usr/bin/env python3
"""Spending caps at scale (issue 12). Two measurements, printed as a table:

1. Exact recompute: 1,000 caps (10 ``each_customer`` templates, the rest per provider, model,
   agent, customer, service and global, over daily/weekly/monthly/total periods in 5 time zones)
   on the 10M-span store (30 days, 5,000 customers); times ``CapMonitor.recompute()``, the pass
   that reads every cap's spend from storage and fires what it crossed. Target <= 1 s.
2. Ingest with caps on vs off: `llmobserve serve` on a fresh store whose tenant has the same
   1,000 caps, with the cap monitor on, then off (LLMOBSERVE_CAPS_MONITOR=false), rounds
   alternating, the shared load generator's agent traffic over OTLP/gRPC. Target on/off >= 0.9.

    python -m bench.caps [--spans 10000000] [--ingest-spans 200000] [--rounds 2] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bench._server import send, start_server
from bench.loadgen import build_requests
from bench.query_seed import MODELS

ROOT = Path(__file__).resolve().parent.parent

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
PERIODS = ["daily", "weekly", "monthly", "total"]
SCALE = int(os.environ.get("CAPS_SCALE", "1"))  # multiplies the limits: 1 crosses hundreds of thresholds during ingest


def caps(customers: int, agents: int) -> list[dict[str, object]]:
    """1,000 cap bodies over the seeded labels (10 templates among them)."""
    values = {
        "provider": sorted({m[0] for m in MODELS}),
        "model": [m[1] for m in MODELS],
        "agent": [f"agent_{i:02d}" for i in range(agents)],
        "customer": [f"cust_{i:03d}" for i in range(min(customers, 400))],
        "service": ["checkout", "support"],
    }
    made: list[dict[str, object]] = []
    spots = itertools.cycle(itertools.product(PERIODS, ZONES))
    for i in range(10):
        period, zone = next(spots)
        made.append({"scope": "each_customer", "period": period, "time_zone": zone, "limit_usd": f"{1 + i}.5"})
    scopes = itertools.cycle(["provider", "model", "agent", "customer", "customer", "service", "global"])
    while len(made) < 1000:
        scope, (period, zone) = next(scopes), next(spots)
        body: dict[str, object] = {
            "scope": scope,
            "period": period,
            "time_zone": zone,
            "limit_usd": str(((len(made) % 97) * 10 + 5) * SCALE),
            "thresholds": ["0.5", "0.8", "1"],
        }
        if scope != "global":
            pool = values[scope]
            body["value"] = pool[len(made) % len(pool)]
        made.append(body)
    return made


def put_caps(store, bodies: list[dict[str, object]], tenant: str) -> None:  # type: ignore[no-untyped-def]
    from llmobserve.control import StoredCap, new_cap_id
    from llmobserve.query_api.schemas import CapIn

    now = datetime.now(UTC)
    for body in bodies:
        cap = CapIn.model_validate(body)
        store.put_cap(
            tenant,
            StoredCap(
                new_cap_id(),
                "",
                cap.scope,
                cap.value or "",
                cap.period,
                cap.time_zone,
                Decimal(cap.limit_usd),
                tuple(cap.thresholds),
                cap.enforcement,
                (),
                (),
                True,
                now,
                now,
            ),
        )


RECOMPUTE = """
import statistics, sys, time
from bench.caps import caps, put_caps
from llmobserve.caps import CapMonitor
from llmobserve.caps.notify import Notifier
from llmobserve.storage import Store, StoreConfig
from pathlib import Path
store = Store.open(StoreConfig(Path({data_dir!r})))
maintainer = store.maintainer()
started = time.perf_counter()
while maintainer.run_once(force=True):
    pass
print(f"rollups built in {{time.perf_counter() - started:.1f}} s", file=sys.stderr)
if not store.list_caps("default"):
    put_caps(store, caps({customers}, {agents}), "default")
monitor = CapMonitor(store, Notifier(None), public_url="http://127.0.0.1:4318")
samples = []
for _ in range({repeat}):
    monitor.recompute()
    samples.append(monitor.last_recompute_s)
print(len(store.list_caps("default")), statistics.median(samples), min(samples), max(samples),
      len(store.list_alerts("default", limit=1000)))
monitor.stop(); store.close()
"""


def recompute(data_dir: str, spans: int, customers: int, agents: int, repeat: int) -> list[str]:
    if not (Path(data_dir) / "bench_seeded").exists():
        started = time.perf_counter()
        code = (
            f"from bench.query_seed import seed\nseed({data_dir!r}, {spans}, days=30, customers={customers}, "
            f"agents={agents})\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
        (Path(data_dir) / "bench_seeded").write_text(str(spans))
        print(f"seeded {spans:,} spans in {time.perf_counter() - started:.0f} s", flush=True)
    code = RECOMPUTE.format(data_dir=data_dir, customers=customers, agents=agents, repeat=repeat)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    sys.stderr.write(out.stderr)
    if out.returncode:
        raise SystemExit("recompute failed")
    count, p50, low, high, alerts = out.stdout.split()
    return [
        f"exact recompute, {count} caps, {spans:,} spans | p50 {float(p50) * 1000:,.0f} ms "
        f"(min {float(low) * 1000:,.0f}, max {float(high) * 1000:,.0f}; {alerts} alerts fired) | target <= 1,000 ms"
    ]


def ingest_round(monitor_on: bool, requests: list[tuple[bytes, int]], concurrency: int) -> float:
    with tempfile.TemporaryDirectory(prefix="llmobserve-bench-caps-") as data_dir:
        from llmobserve.storage import Store, StoreConfig

        store = Store.open(StoreConfig(Path(data_dir)))
        key, _ = store.create_key("default", ("admin",))
        put_caps(store, caps(5000, 20), "default")
        store.close()
        os.environ["LLMOBSERVE_CAPS_MONITOR"] = "true" if monitor_on else "false"
        proc, target, _, _ = start_server(data_dir, [], key)
        try:
            send(target, key, build_requests(2_000, 512, 7), 1)  # warm-up
            acked, elapsed, _, errors = send(target, key, requests, concurrency)
            assert not errors, errors[:3]
        finally:
            proc.terminate()
            proc.wait(60)
    return acked / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--ingest-spans", type=int, default=200_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="ingest rounds per setting, alternating")
    parser.add_argument("--repeat", type=int, default=5, help="timed recomputes")
    parser.add_argument("--data-dir", help="a dir seeded by an earlier run (kept); default a fresh temporary one")
    parser.add_argument("--skip-recompute", action="store_true")
    args = parser.parse_args()

    lines = []
    if not args.skip_recompute:
        if args.data_dir:
            lines += recompute(args.data_dir, args.spans, args.customers, 20, args.repeat)
        else:
            with tempfile.TemporaryDirectory(prefix="llmobserve-bench-caps-store-") as data_dir:
                lines += recompute(data_dir, args.spans, args.customers, 20, args.repeat)
        print(lines[-1], flush=True)
    requests = build_requests(args.ingest_spans, 512, 1)
    rates: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.rounds):
        for on in (False, True):
            rates[on].append(ingest_round(on, requests, args.concurrency))
            print(f"  ingest caps {'on ' if on else 'off'}: {rates[on][-1]:,.0f} spans/s", flush=True)
    on, off = statistics.median(rates[True]), statistics.median(rates[False])
    lines.append(
        f"ingest, 1,000 caps, {args.concurrency} exporters x 512 spans | on {on:,.0f} spans/s, "
        f"off {off:,.0f} spans/s, ratio {on / off:.2f} | target >= 0.90"
    )
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
