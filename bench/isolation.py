#!/usr/bin/env python3
"""Noisy neighbours: does one tenant's hostility slow another tenant down?

Starts `llmobserve serve` on a fresh embedded store and measures, for a well-behaved tenant, the
latency of small OTLP/gRPC exports and of `/healthz`: at idle, then while

- a tenant admin's custom price pattern `(a+)+$` (catastrophic backtracking under Python's `re`)
  meets spans whose model name is `aaa...ab` (measured before RE2: 9.3 s per export, doubling with
  each character), and
- a client with no key sends 60 MB JSON bodies to the API in a loop (measured before the body
  limit: the process grew 490 MB -> 2.17 GB and `/healthz` stalled 3.3 s).

Each attacker sends ``--rate`` requests a second (two attackers), and a benign phase sends the
same traffic with an ordinary model name: on a 2-core machine that also runs this client, any
traffic costs something, so the benign phase shows what is load and what is the attack.
Prints p50/p95 per phase and the ratio to idle (the issue's bar: within 2x).

    python -m bench.isolation [--samples 40] [--rate 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable

import grpc
import httpx

from bench._server import EXPORT, start_server
from tests.otlp_helpers import chat_attrs, request, span


def _keys(http: str, admin: str) -> tuple[str, str]:
    made = []
    for name in ("victim", "attacker"):
        reply = httpx.post(
            f"{http}/api/v1/keys",
            json={"name": name, "scopes": ["ingest", "read", "admin"]},
            headers={"authorization": f"Bearer {admin}"},
            timeout=30,
        )
        reply.raise_for_status()
        made.append(reply.json()["key"])
    return made[0], made[1]


def _measure(
    samples: int, victim_export: Callable[[], None], health: Callable[[], None]
) -> tuple[list[float], list[float]]:
    exports, checks = [], []
    for _ in range(samples):
        started = time.perf_counter()
        victim_export()
        exports.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        health()
        checks.append((time.perf_counter() - started) * 1000)
        time.sleep(0.02)
    return exports, checks


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second per attacker (two attackers)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        proc, target, http, admin = start_server(data, [])
        try:
            run(args.samples, args.rate, target, http, admin)
        finally:
            proc.terminate()
            proc.wait(60)


def run(samples: int, rate: float, target: str, http: str, admin: str) -> None:
    victim, attacker = _keys(http, admin)
    channel = grpc.insecure_channel(target)
    call = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)

    def victim_export() -> None:
        call(
            request(span(attrs=chat_attrs("openai", "gpt-4o", 100, 10))).SerializeToString(),
            metadata=[("authorization", f"Bearer {victim}")],
            timeout=60,
        )

    client = httpx.Client(timeout=60)

    def health() -> None:
        client.get(f"{http}/healthz").raise_for_status()

    rule = client.put(
        f"{http}/api/v1/pricing/models",
        headers={"authorization": f"Bearer {attacker}"},
        json={"model_pattern": "(a+)+$", "input_per_mtok": 1, "output_per_mtok": 1},
    )
    print(f"custom price '(a+)+$' as tenant admin: HTTP {rule.status_code}")
    evil = request(*[span(attrs=chat_attrs("acme", "a" * n + "b", 10, 10)) for n in (24, 28, 32)]).SerializeToString()
    plain = request(*[span(attrs=chat_attrs("acme", "in-house-model", 10, 10)) for _ in range(3)]).SerializeToString()
    big = b'{"model": "' + b"x" * (60 * 1024 * 1024) + b'"}'

    def paced(send: Callable[[], None]) -> Callable[[], None]:
        def loop() -> None:
            while not stop.is_set():
                started = time.monotonic()
                send()
                stop.wait(max(0.0, 1 / rate - (time.monotonic() - started)))

        return loop

    def exporter(body: bytes) -> Callable[[], None]:
        attack = grpc.insecure_channel(target).unary_unary(EXPORT, request_serializer=None, response_deserializer=None)

        def send() -> None:
            try:
                attack(body, metadata=[("authorization", f"Bearer {attacker}")], timeout=60)
            except grpc.RpcError:
                pass

        return send

    def big_body() -> None:
        try:
            httpx.put(
                f"{http}/api/v1/pricing/models", content=big, headers={"content-type": "application/json"}, timeout=60
            )
        except httpx.HTTPError:
            pass  # the server answers and closes before the upload ends

    _measure(5, victim_export, health)  # warm up
    rows = []
    phases: list[tuple[str, Callable[[], Callable[[], None]] | None]] = [
        ("idle", None),
        ("benign exports, same rate", lambda: paced(exporter(plain))),
        ("ReDoS pattern exports", lambda: paced(exporter(evil))),
        ("60 MB bodies, no key", lambda: paced(big_body)),
    ]
    for name, attack in phases:
        stop = threading.Event()
        threads = [threading.Thread(target=attack(), daemon=True) for _ in range(2)] if attack else []
        for thread in threads:
            thread.start()
        time.sleep(1 if attack else 0)
        exports, checks = _measure(samples, victim_export, health)
        stop.set()
        for thread in threads:
            thread.join(120)
        rows.append((name, exports, checks))
    idle_export, idle_health = statistics.median(rows[0][1]), statistics.median(rows[0][2])
    print(
        f"\nanother tenant's export and /healthz, {samples} samples each, 2 attackers at {rate:g}/s each, "
        f"{os.cpu_count()} cores"
    )
    print(f"{'phase':34} {'export p50':>11} {'p95':>8} {'x idle':>7} {'healthz p50':>12} {'p95':>8} {'x idle':>7}")
    for name, exports, checks in rows:
        print(
            f"{name:34} {statistics.median(exports):9.1f}ms {_p(exports, 95):6.1f}ms "
            f"{statistics.median(exports) / idle_export:6.2f}x {statistics.median(checks):10.1f}ms "
            f"{_p(checks, 95):6.1f}ms {statistics.median(checks) / idle_health:6.2f}x"
        )


if __name__ == "__main__":
    main()
