#!/usr/bin/env python3
"""Dashboard speed on the 10M-span store (issue 13): start `llmobserve serve` on a seeded data dir
(30 days, 50 customers, 20 agents, 8 models; seeded once, reused with --data-dir), sign in with a
key, and time every page's HTML and every asset it loads. Prints, per page: HTML p50 / p95, the
slowest request it makes p50, and the page's total transfer (HTML + assets), raw and gzip-compressed
(what a browser receives from a compressing proxy; the server itself does not compress).

    python -m bench.dashboard [--spans 10000000] [--requests 20] [--data-dir DIR] [--screenshot FILE]

Targets: HTML p50 <= 300 ms per page; every data request p50 <= 150 ms; transfer <= 400 KB.
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench._server import start_server
from bench.query import _seed, _wait_ready

ROOT = Path(__file__).resolve().parent.parent

PAGES = [
    "/",
    "/costs",
    "/costs?group_by=customer",
    "/models",
    "/agents",
    "/customers",
    "/runs",
    "/runs?sort=cost",
    "{run}",
    "/caps",
    "/settings",
]
_ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def _time(client: httpx.Client, path: str, n: int) -> tuple[float, float, bytes, int]:
    samples, body, status = [], b"", 0
    for i in range(n + 2):
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        body, status = response.content, response.status_code
        if i >= 2:  # the first two warm caches, as a page someone opens every morning has
            samples.append(elapsed)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], body, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--data-dir", help="a dir seeded by bench/query.py or an earlier run (kept)")
    parser.add_argument("--screenshot", help="also save the overview as seen by chromium to this PNG")
    args = parser.parse_args()
    keep = args.data_dir is not None
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="llmobserve-bench-dash-")
    if not (Path(data_dir) / "bench_key").exists():
        print(f"seeding {args.spans:,} spans...", flush=True)
        print(f"seeded in {_seed(data_dir, args.spans):.0f} s", flush=True)
    key = (Path(data_dir) / "bench_key").read_text().strip()
    proc, _, http_url, _ = start_server(data_dir, [], key)
    try:
        with httpx.Client(base_url=http_url, timeout=120) as client:
            print(f"rollups caught up in {_wait_ready(client):.0f} s", flush=True)
            signed = client.post("/login", data={"key": key, "next": "/"})
            assert signed.status_code == 303, signed.text
            runs = client.get("/api/v1/traces", params={"limit": 1}, headers={"authorization": f"Bearer {key}"}).json()
            run = f"/runs/{runs['data'][0]['trace_id']}" if runs.get("data") else "/runs"
            assets: dict[str, tuple[float, int, int]] = {}
            rows = []
            for template in PAGES:
                path = template.format(run=run)
                p50, p95, body, status = _time(client, path, args.requests)
                linked = sorted(set(_ASSET.findall(body.decode(errors="replace"))))
                for asset in linked:
                    if asset not in assets:
                        a50, _, content, _ = _time(client, asset, args.requests)
                        assets[asset] = (a50, len(content), len(gzip.compress(content)))
                raw = len(body) + sum(assets[a][1] for a in linked)
                packed = len(gzip.compress(body)) + sum(assets[a][2] for a in linked)
                slowest = max((assets[a][0] for a in linked), default=0.0)
                rows.append(
                    (path if template != "{run}" else "/runs/<trace id>", status, p50, p95, slowest, raw, packed)
                )
            if args.screenshot:
                _screenshot(http_url, key, args.screenshot)
    finally:
        proc.terminate()
        proc.wait(60)
        if not keep:
            subprocess.run(["rm", "-rf", data_dir], check=False)
    print(f"\ndashboard on {args.spans:,} spans, p50 of {args.requests} requests after 2 warm-ups")
    print(f"{'page':30} {'status':>6} {'HTML p50':>10} {'p95':>8} {'assets p50':>11} {'raw KB':>8} {'gzip KB':>8}")
    for path, status, p50, p95, slowest, raw, packed in rows:
        print(
            f"{path:30} {status:>6} {p50:>8.1f}ms {p95:>6.1f}ms {slowest:>9.1f}ms {raw / 1024:>8.1f} {packed / 1024:>8.1f}"
        )
    worst = max(r[2] for r in rows)
    print(
        f"\nslowest page HTML p50 {worst:.0f} ms (target <= 300); slowest asset p50 "
        f"{max(a[0] for a in assets.values()):.1f} ms (target <= 150); largest transfer "
        f"{max(r[6] for r in rows) / 1024:.0f} KB gzip, {max(r[5] for r in rows) / 1024:.0f} KB raw (target <= 400)"
    )


def _screenshot(url: str, key: str, target: str) -> None:
    import shutil

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/login")
        page.fill("input[name=key]", key)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=target, full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
