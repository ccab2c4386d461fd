"""Steady ingest for millions of spans: does one `llmobserve serve` hold its rate as it runs on?

C exporters (each waiting for its ack, as the OTel SDK's batch exporter does) send agent traffic to
a server on a fresh embedded store without pause. Every ``--interval`` stored spans the script
prints the rate of that interval, the server's resident memory (and its decode workers'), and the
CPU seconds each group of the server's threads used in it, beside the first interval's.

    python -m bench.soak                       # 5,000,000 spans, a line per 500,000
    python -m bench.soak --quick               # 30,000 spans, a line per 10,000 (the suite's smoke test)

Requests are built once (``--template`` spans) and sent again with a new prefix in every trace
id, so every round is new traces (nothing collapses as a duplicate) at no client cost per span.
Acknowledged == stored (the receiver acks after the write); the script checks the stored count
through the API at the end.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench._server import EXPORT, RETRYABLE, children, cpu_ticks, rss_mib, start_server
from bench.loadgen import build_requests

GROUPS = ("writer", "decode workers", "CH merges", "CH other", "maintenance", "caps", "gRPC", "other Python")


def group_of(thread: str) -> str:
    """A thread (``cpu_ticks``' "role: name") → the group it is reported in."""
    role, name = thread.split(": ", 1)
    if role == "decode worker":
        return "decode workers"
    for prefix, group in (
        ("llmo-writer", "writer"),
        ("llmo-maint", "maintenance"),
        ("llmo-caps", "caps"),
        ("llmo-alert", "caps"),
        ("llmo-notify", "caps"),
        ("llmo-grpc", "gRPC"),
        ("grpc", "gRPC"),
        ("event_engine", "gRPC"),
        ("MergeMutate", "CH merges"),
    ):
        if name.startswith(prefix):
            return group
    if name.startswith(("llmo", "python", "llmobserve")):
        return "other Python"  # the event loop (API, OTLP/HTTP) and unnamed helpers
    return "CH other"  # chDB's own pools: inserts' and queries' workers, schedulers, allocator


@dataclass
class Template:
    """Pre-serialized requests and, per request, where each span's trace id starts in the bytes."""

    bodies: list[bytes]
    offsets: list[list[int]]
    spans: list[int]
    llm: list[int]

    @classmethod
    def build(cls, n_spans: int, batch: int, seed: int) -> Template:
        bodies, offsets, spans, llm = [], [], [], []
        for body, count in build_requests(n_spans, batch, seed):
            request = ExportTraceServiceRequest.FromString(body)
            found, at = [], 0
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        at = body.index(b"\x0a\x10" + span.trace_id, at) + 2  # field 1, 16 bytes
                        found.append(at)
            bodies.append(body)
            offsets.append(found)
            spans.append(count)
            llm.append(
                sum(
                    1
                    for r in request.resource_spans
                    for s in r.scope_spans
                    for x in s.spans
                    if x.name.startswith("chat ")
                )
            )
        return cls(bodies, offsets, spans, llm)

    def request(self, index: int) -> tuple[bytes, int]:
        """Request ``index`` of the endless stream: the template's, in round ``index // len``."""
        which, round_ = index % len(self.bodies), index // len(self.bodies)
        body = bytearray(self.bodies[which])
        prefix = round_.to_bytes(4, "big")
        for at in self.offsets[which]:
            body[at : at + 4] = prefix
        return bytes(body), self.spans[which]


@dataclass
class Mark:
    acked: int
    at: float
    ticks: Counter[str]
    server_rss: float
    workers_rss: float


def _mark(pid: int, acked: int) -> Mark:
    return Mark(
        acked, time.perf_counter(), cpu_ticks(pid), rss_mib(pid), sum(rss_mib(child) for child in children(pid))
    )


class Report:
    """Prints a line per interval as it ends, beside the first; judges the run at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, float, float]] = []  # (stored, spans in it, spans/s, server RSS)
        print(
            f"{'stored':>10} {'spans/s':>8} {'x first':>7} {'RSS MiB':>8} {'workers':>8} | CPU s: "
            + " ".join(f"{g:>9}" for g in GROUPS),
            flush=True,
        )

    def interval(self, before: Mark, after: Mark) -> None:
        used = Counter[str]()
        for name, value in after.ticks.items():
            used[group_of(name)] += value - before.ticks.get(name, 0)
        rate = (after.acked - before.acked) / (after.at - before.at)
        self.rows.append((after.acked, after.acked - before.acked, rate, after.server_rss))
        tick = os.sysconf("SC_CLK_TCK")
        print(
            f"{after.acked:>10,} {rate:>8,.0f} {rate / self.rows[0][2]:>7.2f} {after.server_rss:>8,.0f} "
            f"{after.workers_rss:>8,.0f} |        " + " ".join(f"{used[g] / tick:>9.1f}" for g in GROUPS),
            flush=True,
        )

    def verdict(self) -> tuple[float, float]:
        """(slowest full interval / first, server RSS growth after the first interval in MiB)."""
        first = self.rows[0]
        # A short last interval (the remainder) says little about the rate: judged only when full-sized.
        full = [row for row in self.rows if row[1] >= first[1] * 0.9]
        slowest = min(row[2] for row in full) / first[2]
        growth = max(row[3] for row in self.rows) - first[3]
        print(
            f"\nslowest full interval / first: {slowest:.2f} (target >= 0.8); "
            f"server RSS growth after the first interval: {growth:,.0f} MiB (target <= 200)",
            flush=True,
        )
        return slowest, growth


def _send_all(
    target: str,
    key: str,
    template: Template,
    n_requests: int,
    concurrency: int,
    pid: int,
    interval: int,
    report: Report,
) -> tuple[int, list[str]]:
    """Send ``n_requests`` exports; returns (spans acknowledged, errors)."""
    channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 64 << 20)])
    call = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
    metadata = [("authorization", f"Bearer {key}")]
    lock = threading.Lock()
    state = {"next": 0, "acked": 0}
    errors: list[str] = []

    def worker() -> None:
        while True:
            with lock:
                index = state["next"]
                if index >= n_requests or errors:
                    return
                state["next"] += 1
            body, count = template.request(index)
            for attempt in range(200):
                try:
                    call(body, metadata=metadata, timeout=120)
                    with lock:
                        state["acked"] += count
                    break
                except grpc.RpcError as exc:
                    if exc.code() in RETRYABLE:
                        time.sleep(min(0.05 * (attempt + 1), 1.0))
                        continue
                    errors.append(f"{exc.code()}: {exc.details()}")
                    return

    last = _mark(pid, 0)
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        time.sleep(0.02)
        if state["acked"] >= last.acked + interval:
            now = _mark(pid, state["acked"])
            report.interval(last, now)
            last = now
    if state["acked"] > last.acked:
        report.interval(last, _mark(pid, state["acked"]))
    channel.close()
    return state["acked"], errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=5_000_000)
    parser.add_argument("--interval", type=int, default=500_000, help="stored spans per printed line")
    parser.add_argument("--exporters", type=int, default=8)
    parser.add_argument("--batch", type=int, default=512, help="spans per export")
    parser.add_argument("--template", type=int, default=100_000, help="spans built once and re-sent with new ids")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="30,000 spans, a line per 10,000")
    parser.add_argument("--server-log", action="store_true", help="echo the server's output")
    args = parser.parse_args()
    if args.quick:
        args.spans, args.interval, args.template = 30_000, 10_000, 10_000
    template = Template.build(min(args.template, args.spans), args.batch, args.seed)
    per_round = sum(template.spans)
    n_requests = len(template.bodies) * -(-args.spans // per_round)  # whole rounds, at least --spans
    expected_llm = sum(template.llm[i % len(template.bodies)] for i in range(n_requests))
    total = sum(template.spans[i % len(template.bodies)] for i in range(n_requests))
    print(
        f"{args.exporters} exporters x {args.batch} spans, {total:,} spans "
        f"({n_requests} exports), a line per {args.interval:,} stored",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="llmobserve-soak-") as data_dir:
        proc, target, http_url, key = start_server(data_dir, [], echo=args.server_log)
        try:
            acked, errors = _send_all(
                target, key, template, n_requests, args.exporters, proc.pid, args.interval, report := Report()
            )
            if errors:
                raise SystemExit(f"{len(errors)} exports refused: {errors[:3]}")
            rows = httpx.get(
                f"{http_url}/api/v1/costs/breakdown",
                params={"group_by": "day"},
                headers={"authorization": f"Bearer {key}"},
                timeout=300,
            ).json()["rows"]
            stored_llm = sum(r["calls"] for r in rows)
        finally:
            proc.terminate()
            proc.wait(120)
    if stored_llm != expected_llm:
        raise SystemExit(f"stored {stored_llm} LLM calls, expected {expected_llm}")
    report.verdict()
    print(f"{acked:,} spans acknowledged; {stored_llm:,} LLM calls stored, as expected")


if __name__ == "__main__":
    main()
