#!/usr/bin/env python3
"""Issue 14 groundwork: how fast embedded ClickHouse (chDB) decodes raw OTLP bodies by itself.

Wraps the load generator's ExportTraceServiceRequest bodies, unchanged, in an envelope message
(tenant, request id, body) and has chDB read them with its ``Protobuf`` format and a hand-written
schema, exploding spans with ARRAY JOIN and reading every attribute. AnyValue's scalar members are
``optional`` in the schema and Nullable in the columns, which keeps presence: an int 0 and an
empty string stay apart (both read as defaults otherwise). Prints spans/s per group size.
This is a probe, not the ingest path: nothing is normalized, priced or stored.

    python bench/sql_decode_probe.py [--spans 200000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import chdb
from google.protobuf.internal.encoder import _VarintBytes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import build_requests  # noqa: E402

SCHEMA = """syntax = "proto3";
message AnyValue { optional string string_value = 1; optional bool bool_value = 2; optional int64 int_value = 3;
                   optional double double_value = 4; bytes array_value = 5; bytes kvlist_value = 6; bytes bytes_value = 7; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message Scope { string name = 1; string version = 2; }
message Status { string message = 2; int32 code = 3; }
message Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5;
               int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
               repeated KeyValue attributes = 9; Status status = 15; }
message ScopeSpans { Scope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Body { repeated ResourceSpans resource_spans = 1; }
message Envelope { string tenant = 1; uint64 request_id = 2; Body body = 3; }
"""
_ANY = "Tuple(string_value Nullable(String), bool_value Nullable(Bool), int_value Nullable(Int64), double_value Nullable(Float64))"
_KVS = f"Array(Tuple(key String, value {_ANY}))"
_SPAN = (f"Tuple(trace_id String, span_id String, parent_span_id String, name String, kind Int32, "
         f"start_time_unix_nano UInt64, end_time_unix_nano UInt64, attributes {_KVS}, status Tuple(message String, code Int32))")
STRUCTURE = (f"tenant String, request_id UInt64, body Tuple(resource_spans Array(Tuple(resource Tuple(attributes {_KVS}), "
             f"scope_spans Array(Tuple(scope Tuple(name String), spans Array({_SPAN}))))))")


def _field(number: int, wire: int, payload: bytes) -> bytes:
    return _VarintBytes((number << 3) | wire) + payload


def envelopes(bodies: list[bytes], tenant: str = "t1") -> bytes:
    """Length-delimited envelopes; each body is copied in as it arrived (bytes and a message are one wire type)."""
    out = bytearray()
    for i, body in enumerate(bodies):
        env = (_field(1, 2, _VarintBytes(len(tenant)) + tenant.encode()) + _field(2, 0, _VarintBytes(i))
               + _field(3, 2, _VarintBytes(len(body)) + body))
        out += _VarintBytes(len(env)) + env
    return bytes(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=200_000)
    args = parser.parse_args()
    requests = build_requests(args.spans, 512, 1)
    with tempfile.TemporaryDirectory() as tmp:
        schema = Path(tmp) / "otlp.proto"
        schema.write_text(SCHEMA)
        print(f"{'requests per insert':>20} {'spans':>8} {'spans/s':>10}")
        for group in (1, 4, 16, 64, len(requests)):
            files, spans = [], 0
            for start in range(0, len(requests), group):
                part = requests[start:start + group]
                path = Path(tmp) / f"g{group}-{start}.bin"
                path.write_bytes(envelopes([body for body, _ in part]))
                files.append(path)
                spans += sum(n for _, n in part)
            started = time.perf_counter()
            counted = 0
            for path in files:
                result = chdb.query(
                    f"SELECT count(), sum(length(s.attributes)) FROM file('{path}', 'Protobuf', '{STRUCTURE}') "
                    f"ARRAY JOIN body.resource_spans AS rs ARRAY JOIN rs.scope_spans AS ss ARRAY JOIN ss.spans AS s "
                    f"SETTINGS format_schema = '{schema}:Envelope'", "CSV")
                counted += int(str(result).split(",")[0])
            elapsed = time.perf_counter() - started
            assert counted == spans, (counted, spans)
            print(f"{group:>20} {spans:>8} {spans / elapsed:>10,.0f}")


if __name__ == "__main__":
    main()
