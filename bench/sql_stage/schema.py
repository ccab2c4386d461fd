"""What ClickHouse reads raw OTLP with: a protobuf schema, the matching column structure, envelopes.

Each request body rides into ClickHouse unchanged inside an envelope message (tenant, request id,
body): a nested message and a bytes field share one wire type, so wrapping costs a few bytes of
header, never a re-encode. ``AnyValue``'s scalar members are ``optional`` here and Nullable in the
structure, which keeps their presence (an int 0 and an empty string stay apart). ClickHouse's
Protobuf format cannot recurse: an array's members are read one level deep, and a kvlist or a
nested array stays raw bytes, which marks its span for the Python decoder (see ``values``).
"""

from __future__ import annotations

from google.protobuf.internal.encoder import _VarintBytes

__all__ = ["ENVELOPE", "SCHEMA", "STRUCTURE", "VALUE_DEPTH", "envelope"]

VALUE_DEPTH = 2  # a value, and the members of an array value
ENVELOPE = "Envelope"


def _value_messages() -> str:
    out = []
    for level in range(VALUE_DEPTH):
        last = level == VALUE_DEPTH - 1
        array = "bytes" if last else f"ArrayValue{level + 1}"
        kvlist = "bytes"
        out.append(f"message AnyValue{level} {{ optional string string_value = 1; optional bool bool_value = 2; "
                   f"optional int64 int_value = 3; optional double double_value = 4; {array} array_value = 5; "
                   f"{kvlist} kvlist_value = 6; optional bytes bytes_value = 7; }}")
        if not level:
            out.append(f"message KeyValue{level} {{ string key = 1; AnyValue{level} value = 2; }}")
        if level:
            out.append(f"message ArrayValue{level} {{ repeated AnyValue{level} values = 1; }}")
    return "\n".join(out)


SCHEMA = f"""syntax = "proto3";
{_value_messages()}
message Resource {{ repeated KeyValue0 attributes = 1; }}
message Scope {{ string name = 1; }}
message Event {{ string name = 2; }}
message Link {{ bytes span_id = 2; }}
message Status {{ string message = 2; int32 code = 3; }}
message Span {{ bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
               fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue0 attributes = 9;
               repeated Event events = 11; repeated Link links = 13; Status status = 15; }}
message ScopeSpans {{ Scope scope = 1; repeated Span spans = 2; }}
message ResourceSpans {{ Resource resource = 1; repeated ScopeSpans scope_spans = 2; }}
message Body {{ repeated ResourceSpans resource_spans = 1; }}
message {ENVELOPE} {{ string tenant = 1; uint64 request_id = 2; Body body = 3; }}
"""


def _any(level: int) -> str:
    scalars = ("string_value Nullable(String), bool_value Nullable(Bool), int_value Nullable(Int64), "
               "double_value Nullable(Float64), bytes_value Nullable(String)")
    if level == VALUE_DEPTH - 1:
        return f"Tuple({scalars}, array_value String, kvlist_value String)"
    inner = _any(level + 1)
    return f"Tuple({scalars}, array_value Tuple(values Array({inner})), kvlist_value String)"


_KVS = f"Array(Tuple(key String, value {_any(0)}))"
_SPAN = (f"Tuple(trace_id String, span_id String, parent_span_id String, name String, kind Int32, "
         f"start_time_unix_nano UInt64, end_time_unix_nano UInt64, attributes {_KVS}, "
         f"events Array(Tuple(name String)), links Array(Tuple(span_id String)), "
         f"status Tuple(message String, code Int32))")
STRUCTURE = (f"tenant String, request_id UInt64, body Tuple(resource_spans Array(Tuple(resource Tuple(attributes {_KVS}), "
             f"scope_spans Array(Tuple(scope Tuple(name String), spans Array({_SPAN}))))))")


def _field(number: int, wire: int, payload: bytes) -> bytes:
    return _VarintBytes((number << 3) | wire) + payload


def envelope(tenant: str, request_id: int, body: bytes) -> bytes:
    """One length-delimited envelope (the framing of ClickHouse's ``Protobuf`` format) around ``body``."""
    raw = tenant.encode()
    env = (_field(1, 2, _VarintBytes(len(raw)) + raw) + _field(2, 0, _VarintBytes(request_id))
           + _field(3, 2, _VarintBytes(len(body)) + body))
    return _VarintBytes(len(env)) + env
