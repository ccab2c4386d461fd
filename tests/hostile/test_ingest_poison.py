"""Issue 10, items 1 and 2: content a sender controls is refused per span, with a final answer,
and never fails anyone else's write. Every case goes through a live server, over gRPC and HTTP."""

from __future__ import annotations

import os
import threading
import time

import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.common.v1 import common_pb2 as cp
from opentelemetry.proto.trace.v1 import trace_pb2 as tp

from llmobserve.otlp_receiver import TenantRules, decode_request
from llmobserve.otlp_receiver._decode import CLOCK_SKEW, CLOCK_SKEW_ORIGINAL_START
from llmobserve.pricing import Pricer
from llmobserve.storage import SPAN_COLUMNS
from tests.conftest import LiveServer
from tests.hostile.helpers import NS_PER_DAY, Outcome, export_grpc, export_http, stored_calls
from tests.otlp_helpers import chat_attrs, request, span

NOW = time.time_ns()


def _good(n: int = 1) -> list[tp.Span]:
    return [span(attrs=chat_attrs("openai", "gpt-4o", 100, 10)) for _ in range(n)]


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field, by hand: the Python runtime refuses to build nesting this deep."""
    tag, length, out = (number << 3) | 2, len(payload), bytearray()
    for value in (tag, length):
        while value > 0x7F:
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out) + payload


def _with_nested_attribute(good: tp.Span, depth: int) -> bytes:
    """An ExportTraceServiceRequest whose first span has an array attribute nested ``depth`` deep."""
    value = cp.AnyValue(string_value="x").SerializeToString()
    for _ in range(depth):
        value = _field(5, _field(1, value))  # AnyValue.array_value -> ArrayValue.values
    nested = good.SerializeToString() + _field(9, cp.KeyValue(key="deep").SerializeToString() + _field(2, value))
    scope = _field(2, nested) + b"".join(_field(2, s.SerializeToString()) for s in _good(2))
    return _field(1, _field(2, scope))


POISON = {
    "tokens 2^63-1": lambda: span(attrs=chat_attrs("openai", "gpt-4o", 2**63 - 1, 10)),
    "tokens '1e30'": lambda: span(attrs=chat_attrs("openai", "gpt-4o", "1e30", 10)),
    "tokens 1e12 (cost over $1M)": lambda: span(attrs=chat_attrs("openai", "gpt-4o", 10**12, 10)),
    "client cost 1e7": lambda: span(attrs={**chat_attrs("acme", "in-house-model", 100, 10), "gen_ai.usage.cost": 1e7}),
    "start >= 2^63 ns": lambda: tp.Span(
        trace_id=os.urandom(16),
        span_id=os.urandom(8),
        name="chat gpt-4o",
        start_time_unix_nano=2**63 + 5,
        end_time_unix_nano=2**64 - 1,
        attributes=span(attrs=chat_attrs("openai", "gpt-4o", 1, 1)).attributes,
    ),
    "end 2^64-1": lambda: tp.Span(
        trace_id=os.urandom(16),
        span_id=os.urandom(8),
        name="chat gpt-4o",
        start_time_unix_nano=NOW,
        end_time_unix_nano=2**64 - 1,
    ),
    "start 0": lambda: span(attrs=chat_attrs("openai", "gpt-4o", 1, 1), start_ns=1),
    "older than retention": lambda: span(attrs=chat_attrs("openai", "gpt-4o", 1, 1), start_ns=NOW - 401 * NS_PER_DAY),
}


@pytest.mark.parametrize("transport", ["grpc", "http"])
@pytest.mark.parametrize("case", sorted(POISON))
def test_poison_span_is_refused_alone_and_the_rest_stored(server: LiveServer, transport: str, case: str) -> None:
    key = server.create_key(f"poison-{transport}-{abs(hash(case)) % 10**8}")
    body = request(*_good(2), POISON[case](), *_good(1)).SerializeToString()
    send = export_grpc if transport == "grpc" else export_http
    outcome = send(server.grpc_target if transport == "grpc" else server.http_url, key, body)
    assert (outcome.code, outcome.rejected) == ("OK", 1), outcome
    assert outcome.message.startswith("span 'chat gpt-4o': "), outcome.message
    assert stored_calls(server.http_url, key) == 3


def test_deeply_nested_attribute_is_refused_or_kept_alone(server: LiveServer) -> None:
    key = server.create_key("poison-nested")
    body = _with_nested_attribute(span(attrs=chat_attrs("openai", "gpt-4o", 1, 1)), 40)
    outcome = export_grpc(server.grpc_target, key, body)
    # Either refused alone, or stored whole: never the request, never retryable.
    assert outcome.code == "OK" and outcome.rejected in (0, 1), outcome
    assert stored_calls(server.http_url, key) == 3 - outcome.rejected


def test_body_nested_past_protobufs_limit_is_invalid_argument(server: LiveServer) -> None:
    key = server.create_key("poison-nested-body")
    body = _with_nested_attribute(span(attrs=chat_attrs("openai", "gpt-4o", 1, 1)), 200)
    assert export_grpc(server.grpc_target, key, body).code == "INVALID_ARGUMENT"
    assert export_http(server.http_url, key, body).code == "INVALID_ARGUMENT"


def test_deeply_nested_json_is_400(server: LiveServer) -> None:
    key = server.create_key("poison-json")
    body = ('{"resourceSpans": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()
    outcome = export_http(server.http_url, key, body, "application/json")
    assert outcome.code == "INVALID_ARGUMENT", outcome
    shapes = [
        b'{"resourceSpans": [1, "x", null]}',
        b'{"resourceSpans": [{"scopeSpans": 7}]}',
        b'{"resourceSpans": {"a": 1}}',
        b"[]",
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [5]}]}]}',
    ]
    for shape in shapes:
        assert export_http(server.http_url, key, shape, "application/json").code == "INVALID_ARGUMENT", shape


def test_clock_skew_is_clamped_and_flagged(server: LiveServer) -> None:
    key = server.create_key("poison-skew")
    ahead = time.time_ns() + 3 * NS_PER_DAY
    outcome = export_grpc(
        server.grpc_target,
        key,
        request(span(attrs=chat_attrs("openai", "gpt-4o", 1, 1), start_ns=ahead)).SerializeToString(),
    )
    assert (outcome.code, outcome.rejected) == ("OK", 0)
    exported = server.get("/api/v1/export/traces", key, format="json", **{"from": "2024-01-01", "to": "2030-01-01"})
    assert exported.status_code == 200, exported.text
    (row,) = exported.json()
    assert row["start_time"][:10] == _day(time.time_ns()) != _day(ahead)  # stored at the receive time
    assert row["duration_ns"] == 1_000_000  # the span keeps its length
    decoded = decode_request(
        request(span(attrs=chat_attrs("openai", "gpt-4o", 1, 1), start_ns=ahead)), TenantRules("t"), Pricer()
    )
    (stored,) = decoded.rows
    attributes = dict(stored[SPAN_COLUMNS.index("span_attributes")])
    assert attributes[CLOCK_SKEW] == "true" and attributes[CLOCK_SKEW_ORIGINAL_START] == str(ahead)
    assert decoded.clock_skewed == 1 and decoded.skewed_services == {"test-app"}


def _day(ns: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ns / 1e9))


def test_too_many_spans_in_one_request_is_invalid_argument(server: LiveServer) -> None:
    key = server.create_key("poison-count")
    spans = [
        tp.Span(trace_id=b"\x01" * 16, span_id=i.to_bytes(8, "big"), name="s", start_time_unix_nano=NOW)
        for i in range(1, 100_002)
    ]
    outcome = export_grpc(server.grpc_target, key, request(*spans).SerializeToString())
    assert outcome.code == "INVALID_ARGUMENT" and "at most 100000" in outcome.message, outcome


def _spread_request(months: int) -> ts.ExportTraceServiceRequest:
    """One span a month, from ``months`` months ago to as many ahead: the partition attack."""
    spans = [
        span(attrs=chat_attrs("openai", "gpt-4o", 1, 1), start_ns=NOW + m * 31 * NS_PER_DAY)
        for m in range(-months, months + 1)
    ]
    return request(*spans)


def test_one_request_cannot_touch_many_partitions_or_hours(server: LiveServer) -> None:
    key = server.create_key("poison-spread")
    attack = _spread_request(120)  # 241 spans over 241 months
    outcome = export_grpc(server.grpc_target, key, attack.SerializeToString())
    assert outcome.code == "OK"
    stored = stored_calls(server.http_url, key)
    assert stored + outcome.rejected == 241
    assert stored <= 3  # at most three months (partitions) per request
    daily = [
        span(attrs=chat_attrs("openai", "gpt-4o", 1, 1), start_ns=NOW - d * NS_PER_DAY // 24) for d in range(300)
    ]  # 300 distinct hours within two weeks
    outcome = export_grpc(server.grpc_target, key, request(*daily).SerializeToString())
    assert outcome.code == "OK" and outcome.rejected == 300 - 48, outcome


def test_partition_attack_never_fails_well_formed_clients(server: LiveServer) -> None:
    """Item 1: while one client keeps sending spans spread over 241 months, three well-formed
    clients in two tenants are all acknowledged and stored."""
    attacker = server.create_key("attack-spread")
    tenants = [server.create_key("victim-a"), server.create_key("victim-b")]
    clients = [tenants[0], tenants[1], tenants[0]]
    stop = threading.Event()
    attack_outcomes: list[Outcome] = []
    victim_outcomes: list[list[Outcome]] = [[] for _ in clients]

    def attack() -> None:
        body = _spread_request(120).SerializeToString()
        while not stop.is_set():
            attack_outcomes.append(export_grpc(server.grpc_target, attacker, body))

    def victim(i: int) -> None:
        for n in range(20):
            body = request(*_good(5)).SerializeToString()
            send = export_grpc if n % 2 else export_http
            victim_outcomes[i].append(send(server.grpc_target if n % 2 else server.http_url, clients[i], body))

    threads = [threading.Thread(target=attack) for _ in range(2)]
    threads += [threading.Thread(target=victim, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads[2:]:
        thread.join(120)
    stop.set()
    for thread in threads[:2]:
        thread.join(60)
    assert all(o == Outcome("OK") for outcomes in victim_outcomes for o in outcomes), victim_outcomes
    assert stored_calls(server.http_url, tenants[0]) == 2 * 20 * 5
    assert stored_calls(server.http_url, tenants[1]) == 20 * 5
    assert attack_outcomes and all(o.code == "OK" and o.rejected >= 238 for o in attack_outcomes), attack_outcomes[:3]
