#!/usr/bin/env python3
"""Overload: offer spans at a multiple of the sustainable rate and watch the server's memory.

First measures the sustainable rate (8 exporters of 512 spans, each waiting for its ack, as
`bench/ingest.py` does), then offers ``--factor`` times that rate for ``--seconds`` open-loop:
exports leave on a fixed schedule whether or not earlier ones were answered (at most
``--in-flight`` at once, like a fleet of apps), and a refused export (UNAVAILABLE, the receiver's
backpressure) is retried after a delay, as OTel exporters do. Prints the peak resident memory of
the server and its decode workers, sampled every 0.2 s, how many spans were acknowledged and
refused, and checks that every acknowledged span was stored.

    python -m bench.overload [--factor 3] [--seconds 30]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx

from bench._server import EXPORT, RETRYABLE, send, start_server
from bench.loadgen import build_requests, llm_span_count


def _tree_rss(root: int) -> tuple[int, int]:
    """Resident bytes of process ``root`` and of its children together (Linux /proc)."""
    own = children = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            rss = int(stat[21]) * 4096  # pages
            if int(entry.name) == root:
                own += rss
            elif int(stat[1]) == root:
                children += rss
        except (OSError, IndexError):
            continue
    return own, children


def _anon_and_file(pid: int) -> tuple[int, int]:
    """(RssAnon, RssFile) of one process in bytes: heap versus pages of mapped files (chDB's library)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["RssAnon"].split()[0]) * 1024, int(fields["RssFile"].split()[0]) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factor", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--in-flight", type=int, default=256, help="exports outstanding at most")
    args = parser.parse_args()

    requests = build_requests(100_000, 512, 1)
    with tempfile.TemporaryDirectory(prefix="llmobserve-overload-") as data_dir:
        proc, target, http_url, key = start_server(data_dir, [])
        peak, stop = [_tree_rss(proc.pid)], threading.Event()
        idle = peak[0]

        split = [(0, 0)]

        def watch() -> None:
            while not stop.wait(0.2):
                peak.append(_tree_rss(proc.pid))
                if sum(peak[-1]) >= max(map(sum, peak)):
                    split[0] = _anon_and_file(proc.pid)

        threading.Thread(target=watch, daemon=True).start()
        try:
            acked, elapsed, _, _ = send(target, key, requests, 8)
            sustainable = acked / elapsed
            offered = sustainable * args.factor
            print(
                f"sustainable (8 exporters x 512, closed loop): {sustainable:,.0f} spans/s; "
                f"offering {offered:,.0f} spans/s for {args.seconds:.0f} s",
                flush=True,
            )
            before_peak = max(peak, key=sum)
            total = int(offered * args.seconds) // 512
            burst = build_requests(total * 512, 512, 2)
            channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 64 << 20)])
            call = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
            metadata = [("authorization", f"Bearer {key}")]
            counts = {"acked": 0, "refused": 0, "failed": 0}
            lock = threading.Lock()
            slots = threading.Semaphore(args.in_flight)

            def export(body: bytes, n: int) -> None:
                try:
                    for _ in range(200):
                        try:
                            call(body, metadata=metadata, timeout=60)
                            with lock:
                                counts["acked"] += n
                            return
                        except grpc.RpcError as exc:
                            if exc.code() not in RETRYABLE:
                                with lock:
                                    counts["failed"] += n
                                return
                            with lock:
                                counts["refused"] += 1
                            time.sleep(1.0)  # an exporter's retry delay
                finally:
                    slots.release()

            started = time.perf_counter()
            with ThreadPoolExecutor(args.in_flight) as pool:
                for i, (body, n) in enumerate(burst):
                    due = started + i * 512 / offered
                    if (wait := due - time.perf_counter()) > 0:
                        time.sleep(wait)
                    slots.acquire()
                    pool.submit(export, body, n)
            drained = time.perf_counter() - started
            channel.close()
            rows = httpx.get(
                f"{http_url}/api/v1/costs/breakdown",
                params={"group_by": "day"},
                headers={"authorization": f"Bearer {key}"},
                timeout=120,
            ).json()["rows"]
            stored_llm = sum(r["calls"] for r in rows)
        finally:
            stop.set()
            proc.terminate()
            proc.wait(60)
    offered_spans = len(burst) * 512
    # every export is retried until acknowledged, so all of them are stored when none failed
    expected = llm_span_count(100_000) + llm_span_count(offered_spans) if counts["acked"] == offered_spans else None
    print(
        f"offered {offered_spans:,} spans; acknowledged {counts['acked']:,} in {drained:.1f} s "
        f"({counts['acked'] / drained:,.0f} spans/s); exports refused and retried {counts['refused']:,}; "
        f"failed {counts['failed']:,}"
    )
    top = max(peak, key=sum)
    mib = 2**20
    print(
        f"peak RSS of server + decode workers: {sum(top) / mib:,.0f} MiB (server {top[0] / mib:,.0f}, workers "
        f"{top[1] / mib:,.0f}); at start {sum(idle) / mib:,.0f} MiB (server {idle[0] / mib:,.0f}, workers "
        f"{idle[1] / mib:,.0f}); by the end of the sustainable run {sum(before_peak) / mib:,.0f} MiB"
    )
    print(
        f"the server at its peak: {split[0][0] / mib:,.0f} MiB heap (RssAnon), {split[0][1] / mib:,.0f} MiB of "
        f"mapped files (RssFile: chDB's library and data)"
    )
    print(
        f"LLM calls stored {stored_llm:,}, expected {expected if expected is not None else '?'}: "
        f"{'ok' if stored_llm == expected else 'MISMATCH'}"
    )


if __name__ == "__main__":
    main()
