"""Issue 10: 10,000 fuzzed or malformed exports (protobuf and JSON, gRPC and HTTP, item 2's poison
among them). None may crash the server, get a 5xx or UNAVAILABLE: each is INVALID_ARGUMENT / 400 or a
success whose ``rejected_spans`` counts exactly the spans not stored."""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts

from tests.conftest import LiveServer
from tests.hostile.helpers import NS_PER_DAY, stored_calls
from tests.otlp_helpers import EXPORT, chat_attrs, request, span

REQUESTS = 10_000
SEED = 20261128
FINAL = {"OK", "INVALID_ARGUMENT"}


def _valid(rng: random.Random) -> ts.ExportTraceServiceRequest:
    now = time.time_ns()
    spans = [
        span(
            attrs=chat_attrs(
                "openai", rng.choice(["gpt-4o", "gpt-4o-mini"]), rng.randint(1, 5000), rng.randint(1, 500)
            ),
            start_ns=now - rng.randint(0, 3600) * 10**9,
        )
        for _ in range(rng.randint(1, 6))
    ]
    return request(*spans)


def _poisoned(rng: random.Random) -> tuple[ts.ExportTraceServiceRequest, int]:
    """A valid request with a known number of poison spans mixed in."""
    good = list(_valid(rng).resource_spans[0].scope_spans[0].spans)
    now = time.time_ns()
    makers = [
        lambda: span(attrs=chat_attrs("openai", "gpt-4o", 2**63 - 1, 1)),
        lambda: span(attrs=chat_attrs("openai", "gpt-4o", "1e30", 1)),
        lambda: span(attrs=chat_attrs("openai", "gpt-4o", 10**12, 1)),
        lambda: span(attrs={**chat_attrs("acme", "own-model", 1, 1), "gen_ai.usage.cost": 1e7}),
        lambda: span(attrs=chat_attrs("openai", "gpt-4o", 1, 1), start_ns=now - 500 * NS_PER_DAY),
        lambda: span(trace_id=b"\0" * 16),
        lambda: span(span_id=b"short"),
    ]
    poison = [rng.choice(makers)() for _ in range(rng.randint(1, 3))]
    mixed = good + poison
    rng.shuffle(mixed)
    return request(*mixed), len(poison)


def _mutate(rng: random.Random, body: bytes) -> bytes:
    choice = rng.randrange(5)
    if choice == 0:
        return body[: rng.randrange(len(body))]
    if choice == 1:
        raw = bytearray(body)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw)
    if choice == 2:
        return os.urandom(rng.randint(0, 300))
    if choice == 3:
        return body + os.urandom(rng.randint(1, 20))
    return body * 2


def _json_case(rng: random.Random) -> bytes:
    valid = json_format.MessageToDict(_valid(rng))
    choice = rng.randrange(4)
    if choice == 0:
        return json.dumps(valid).encode()
    if choice == 1:
        text = json.dumps(valid)
        cut = rng.randrange(len(text))
        return (text[:cut] + rng.choice(["", "}", "]", '"', "\\u", "\x00", "1e999"]) + text[cut:]).encode()
    if choice == 2:
        spans = valid["resourceSpans"][0]["scopeSpans"][0]["spans"]
        field = rng.choice(["startTimeUnixNano", "traceId", "spanId", "attributes", "name", "kind", "status"])
        spans[0][field] = rng.choice([None, -1, "x" * 50, [], {}, 1e308, "18446744073709551616", True])
        return json.dumps(valid).encode()
    return rng.choice([b"null", b"[]", b'"x"', b"{", b'{"resourceSpans": 5}', "ü".encode("latin-1")])


def _spans_in(body: bytes) -> int | None:
    try:
        parsed = ts.ExportTraceServiceRequest.FromString(body)
    except (DecodeError, RecursionError):
        return None
    return sum(len(ss.spans) for rs in parsed.resource_spans for ss in rs.scope_spans)


def _cases(rng: random.Random, key: str, exact_key: str) -> tuple[list[tuple[int, bytes, int | None, str]], int]:
    """(kind, body, rejected spans expected, key) per request, and the spans the exact ones store."""
    cases, exact_stored = [], 0
    for i in range(REQUESTS):
        kind = i % 4
        if kind == 0:  # poison mixed into valid spans: the answer is exact
            message, poison = _poisoned(rng)
            body = message.SerializeToString()
            exact_stored += _spans_in(body) - poison  # type: ignore[operator]
            cases.append((kind, body, poison, exact_key))
        elif kind == 3:
            cases.append((kind, _json_case(rng), None, key))
        else:
            cases.append((kind, _mutate(rng, _valid(rng).SerializeToString()), None, key))
    return cases, exact_stored


def test_ten_thousand_malformed_exports_get_final_answers(server: LiveServer) -> None:
    key = server.create_key("fuzz", "ingest", "read")
    exact_key = server.create_key("fuzz-exact", "ingest", "read")
    cases, exact_stored = _cases(random.Random(SEED), key, exact_key)
    with grpc.insecure_channel(server.grpc_target) as channel, httpx.Client(timeout=30) as http:
        export = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)

        def send(case: tuple[int, bytes, int | None, str]) -> tuple[str, int]:
            kind, body, _, send_key = case
            if kind in (0, 1):
                try:
                    raw = export(body, metadata=[("authorization", f"Bearer {send_key}")], timeout=30)
                    return "OK", ts.ExportTraceServiceResponse.FromString(raw).partial_success.rejected_spans
                except grpc.RpcError as exc:
                    return exc.code().name, 0
            content_type = "application/json" if kind == 3 else "application/x-protobuf"
            reply = http.post(
                f"{server.http_url}/v1/traces",
                content=body,
                headers={"authorization": f"Bearer {send_key}", "content-type": content_type},
            )
            code = {200: "OK", 400: "INVALID_ARGUMENT"}.get(reply.status_code, f"HTTP {reply.status_code}")
            if reply.status_code == 200 and kind == 2:
                return code, ts.ExportTraceServiceResponse.FromString(reply.content).partial_success.rejected_spans
            return code, 0

        # 16 senders at once, as many exporters would: each answer still belongs to its own request
        with ThreadPoolExecutor(16) as senders:
            answers = list(senders.map(send, cases))
    codes: Counter[str] = Counter()
    wrong: list[str] = []
    for i, ((kind, body, expected_rejected, _), (code, rejected)) in enumerate(zip(cases, answers)):
        codes[code] += 1
        if code not in FINAL:
            wrong.append(f"#{i} kind {kind}: {code}")
        elif expected_rejected is not None and (code, rejected) != ("OK", expected_rejected):
            wrong.append(f"#{i}: expected {expected_rejected} rejected, got {code} {rejected}")
        elif code == "OK" and kind in (1, 2) and rejected > (_spans_in(body) or 0):
            wrong.append(f"#{i}: {rejected} rejected of {_spans_in(body)} spans")
    assert wrong == [], (codes, wrong[:20])
    assert codes["OK"] > 1000 and codes["INVALID_ARGUMENT"] > 1000, codes  # both paths were exercised
    assert httpx.get(f"{server.http_url}/healthz", timeout=10).status_code == 200
    assert stored_calls(server.http_url, exact_key) == exact_stored
