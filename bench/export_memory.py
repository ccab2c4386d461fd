#!/usr/bin/env python3
"""Peak memory of the server while it exports N spans (default 1M) as CSV through the API.

Starts a server on a fresh embedded store, ingests N spans of agent traffic over OTLP/gRPC, waits
for the rollups to be refreshed, reads the server's peak RSS (VmHWM), downloads the export
(discarding it), reads VmHWM again (reset just before, so only the export's peak counts).

    python -m bench.export_memory [--spans 1000000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from bench._server import send, start_server
from bench.loadgen import build_requests


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmobserve-export-") as data_dir:
        proc, target, http_url, key = start_server(data_dir, [])
        try:
            acked, seconds, _, errors = send(target, key, build_requests(args.spans, 2048, 7), 16)
            print(f"ingested {acked} spans in {seconds:.1f}s ({len(errors)} errors)")
            # Let the background rollup refresh (which settles 10 s after the last write) finish
            # first, so its memory is not counted as the export's.
            waited = time.perf_counter()
            while (
                httpx.get(f"{http_url}/healthz", timeout=30).json().get("rollups_pending") != 0
                or time.perf_counter() - waited < 12
            ):
                time.sleep(0.5)
            print(
                f"rollups refreshed {time.perf_counter() - waited:.0f} s after the last write "
                f"(server peak RSS so far {_peak_rss_mb(proc.pid):.0f} MB)"
            )
            Path(f"/proc/{proc.pid}/clear_refs").write_text("5")  # reset the peak to the current RSS
            before = _peak_rss_mb(proc.pid)
            started, size, lines = time.perf_counter(), 0, 0
            with httpx.stream(
                "GET",
                f"{http_url}/api/v1/export/traces",
                timeout=600,
                params={"format": "csv", "from": "2000-01-01", "to": "2100-01-01"},
                headers={"authorization": f"Bearer {key}"},
            ) as response:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    lines += chunk.count(b"\n")
            after = _peak_rss_mb(proc.pid)
            print(f"exported {lines - 1} spans, {size / 1e6:.0f} MB of CSV in {time.perf_counter() - started:.1f}s")
            print(f"server peak RSS before export {before:.0f} MB, after {after:.0f} MB: grew {after - before:.0f} MB")
        finally:
            proc.terminate()
            proc.wait(60)


if __name__ == "__main__":
    main()
