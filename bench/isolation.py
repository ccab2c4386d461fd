#!/usr/bin/env python3
"""Noisy neighbours: does one tenant's hostility slow another tenant down?

Starts `llmobserve serve` on a fresh embedded store and measures, for a well-behaved tenant, the
latency of small OTLP/gRPC exports and of `/healthz`: at idle, then while

- a tenant admin's custom price pattern `(a+)+$` (catastrophic backtracking under Python's `re`)
  meets spans whose model name is `aaa...ab` (measured before RE2: 9.3 s per export, doubling with
  each character), and
- a client with no key sends 60 MB JSON bodies to the API in a loop (measured before the body
  limit: the process grew 490 MB -> 2.17 GB and `/healthz` stalled 3.3 s), and
- ``--flood-clients`` clients send ``--flood-keys`` well-formed random API keys over OTLP/HTTP as
  fast as they are answered: each is a key-cache miss, a storage lookup (measured while lookups ran
  on the event loop: `/healthz` p50 1.3 s, as every HTTP route waited behind them). This phase
  samples for as long as the flood lasts.

Each of the first attackers sends ``--rate`` requests a second (two attackers), and a benign phase
sends the same traffic with an ordinary model name: on a 2-core machine that also runs this client,
any traffic costs something, so the benign phase shows what is load and what is the attack.
The well-behaved tenant exports over OTLP/gRPC and OTLP/HTTP (one small export each per sample).
Prints p50/p95 per phase and the ratio to idle (the issue's bar: within 2x).

    python -m bench.isolation [--samples 40] [--rate 10] [--flood-keys 5000] [--flood-clients 32]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import statistics
import string
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection

import grpc
import httpx

from bench._server import EXPORT, start_server
from tests.otlp_helpers import chat_attrs, request, span
from tests.standin.trickle import Trickle


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


_KEY_ALPHABET = string.ascii_letters + string.digits + "_-"


def _random_key() -> str:
    """Shaped like ours (llmo_<12 hex>_<secret>): only a storage lookup can refuse it."""
    return f"llmo_{secrets.token_hex(6)}_{''.join(secrets.choice(_KEY_ALPHABET) for _ in range(32))}"


def _key_flood(http: str, body: bytes, keys: int, clients: int, answers: Connection) -> None:
    """Send ``keys`` random keys from ``clients`` threads; sends "started", then {answer: count}. Runs
    in a process of its own: its threads would otherwise compete with the measuring client for one GIL."""
    left = iter([_random_key() for _ in range(keys)])
    counted: Counter[str] = Counter()
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(timeout=60) as flooder:
            while True:
                with lock:
                    key = next(left, None)
                if key is None:
                    return
                try:
                    answer = flooder.post(
                        f"{http}/v1/traces",
                        content=body,
                        headers={"content-type": "application/x-protobuf", "authorization": f"Bearer {key}"},
                    )
                    outcome = str(answer.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                with lock:
                    counted[outcome] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    answers.send("started")
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers.send(dict(counted))


def _test_burst(url: str, key: str, calls: int, answers: Connection) -> None:
    """``calls`` concurrent ``POST /caps/{id}/test``; sends "ready", waits for "go", then {status: count}."""
    go = threading.Event()
    counted: Counter[str] = Counter()
    lock = threading.Lock()

    def one() -> None:
        go.wait()
        try:
            outcome = str(httpx.post(url, headers={"authorization": f"Bearer {key}"}, timeout=60).status_code)
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        with lock:
            counted[outcome] += 1

    threads = [threading.Thread(target=one) for _ in range(calls)]
    for thread in threads:
        thread.start()
    answers.send("ready")
    answers.recv()
    go.set()
    for thread in threads:
        thread.join()
    answers.send(dict(counted))


def _measure(
    samples: int, probes: list[Callable[[], None]], until: Callable[[], bool] | None = None
) -> list[list[float]]:
    """Milliseconds per probe: ``samples`` rounds, or until ``until()`` (at least one round)."""
    timings: list[list[float]] = [[] for _ in probes]
    rounds = 0
    while (rounds < samples) if until is None else (rounds == 0 or not until()):
        for probe, times in zip(probes, timings):
            started = time.perf_counter()
            probe()
            times.append((time.perf_counter() - started) * 1000)
        rounds += 1
        time.sleep(0.02)
    return timings


def _test_notifications(http: str, key: str, samples: int, probes: list[Callable[[], None]]) -> list[list[float]]:
    """200 concurrent test notifications of a cap with 10 webhooks that trickle a byte every 4 s."""
    trickle = Trickle(every_s=4.0)
    try:
        hooks = [f"http://127.0.0.1:{trickle.port}/h{i}" for i in range(10)]
        made = httpx.post(
            f"{http}/api/v1/caps",
            json={"scope": "global", "limit_usd": "1", "webhooks": hooks},
            headers={"authorization": f"Bearer {key}"},
            timeout=60,
        )
        made.raise_for_status()
        ours, theirs = multiprocessing.get_context("spawn").Pipe()
        burst = multiprocessing.get_context("spawn").Process(
            target=_test_burst, args=(f"{http}/api/v1/caps/{made.json()['id']}/test", key, 200, theirs), daemon=True
        )
        burst.start()
        assert ours.recv() == "ready"
        ours.send("go")
        timings = _measure(samples, probes)
        answers: dict[str, int] = ours.recv()
        burst.join(60)
        print("test notifications: " + ", ".join(f"{code}: {n}" for code, n in sorted(answers.items())))
        return timings
    finally:
        trickle.close()


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second per attacker (two attackers)")
    parser.add_argument("--flood-keys", type=int, default=5000, help="random API keys sent in the flood phase")
    parser.add_argument("--flood-clients", type=int, default=32, help="concurrent clients sending them")
    args = parser.parse_args()
    os.environ["LLMOBSERVE_WEBHOOKS_ALLOW_PRIVATE"] = "true"  # the slow receiver of the last phase is local
    with tempfile.TemporaryDirectory() as data:
        proc, target, http, admin = start_server(data, [])
        try:
            run(args.samples, args.rate, target, http, admin, args.flood_keys, args.flood_clients)
        finally:
            proc.terminate()
            proc.wait(60)


def run(
    samples: int, rate: float, target: str, http: str, admin: str, flood_keys: int = 5000, flood_clients: int = 32
) -> None:
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
    victim_body = request(span(attrs=chat_attrs("openai", "gpt-4o", 100, 10))).SerializeToString()

    def victim_http_export() -> None:
        client.post(
            f"{http}/v1/traces",
            content=victim_body,
            headers={"content-type": "application/x-protobuf", "authorization": f"Bearer {victim}"},
        ).raise_for_status()

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

    probes = [victim_export, victim_http_export, health]
    _measure(5, probes)  # warm up
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
        timings = _measure(samples, probes)
        stop.set()
        for thread in threads:
            thread.join(120)
        rows.append((name, timings))
    received, sent = multiprocessing.get_context("spawn").Pipe(duplex=False)
    flood = multiprocessing.get_context("spawn").Process(
        target=_key_flood, args=(http, plain, flood_keys, flood_clients, sent), daemon=True
    )
    flood.start()
    assert received.recv() == "started"
    started = time.monotonic()
    time.sleep(1)
    rows.append((f"{flood_keys:,} random keys, OTLP/HTTP", _measure(samples, probes, lambda: received.poll())))
    flood_answers: dict[str, int] = received.recv()
    flood_seconds = time.monotonic() - started
    flood.join(60)
    rows.append(("200 test notifications, slow hooks", _test_notifications(http, attacker, samples, probes)))
    idle = [statistics.median(times) for times in rows[0][1]]
    print(
        f"\nanother tenant's exports and /healthz, {samples} samples each (the flood: for as long as it lasts), "
        f"2 attackers at {rate:g}/s each, {os.cpu_count()} cores"
    )
    header = f"{'phase':34}"
    for probe in ("gRPC export", "HTTP export", "healthz"):
        header += f" {probe + ' p50':>16} {'p95':>8} {'x idle':>7}"
    print(header + f" {'samples':>8}")
    for name, timings in rows:
        line = f"{name:34}"
        for times, idle_p50 in zip(timings, idle):
            line += f" {statistics.median(times):14.1f}ms {_p(times, 95):6.1f}ms {statistics.median(times) / idle_p50:6.2f}x"
        print(line + f" {len(timings[0]):8}")
    answers = ", ".join(f"{code}: {count:,}" for code, count in sorted(flood_answers.items()))
    print(
        f"\nflood: {sum(flood_answers.values()):,} of {flood_keys:,} random keys sent by {flood_clients} clients "
        f"(another process) in {flood_seconds:.1f} s; answers {answers}"
    )


if __name__ == "__main__":
    main()
