"""OTLP ExportTraceServiceRequest → validated, normalized, priced span columns.

This is the receiver's hot path (tens of thousands of spans per second on one core), so it
works on the protobuf objects directly and appends straight into column lists.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from llmobserve import semconv
from llmobserve.pricing import CustomPrices, Pricer
from llmobserve.storage import SpanRow, inherit_labels

__all__ = ["DecodedRequest", "decode_request", "any_value"]

_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
_STATUS = ("unset", "ok", "error")
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
_MAX_ERRORS_LISTED = 5


@dataclass(slots=True)
class DecodedRequest:
    rows: list[SpanRow]
    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def error_message(self) -> str:
        if not self.rejected:
            return ""
        more = self.rejected - len(self.errors)
        return "; ".join(self.errors) + (f"; and {more} more" if more > 0 else "")


def any_value(value: AnyValue) -> Any:
    """An OTLP AnyValue as a plain Python value (arrays → list, kvlists → dict, bytes → hex)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "bool_value":
        return value.bool_value
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return value.bytes_value.hex()
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), default=str)


def _attributes(kvs: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Attributes as Python values (for normalize) and as text pairs (for the Map column)."""
    values: dict[str, Any] = {}
    pairs: list[tuple[str, str]] = []
    for kv in kvs:
        key = kv.key
        v = kv.value
        which = v.WhichOneof("value")
        # Inline the common scalar cases: this loop runs ~15 times per span.
        if which == "string_value":
            text = v.string_value
            values[key] = text
        elif which == "int_value":
            number = v.int_value
            values[key] = number
            text = str(number)
        else:
            value = any_value(v)
            values[key] = value
            text = _as_text(value)
        pairs.append((key, text))
    return values, pairs


def _events(span: Any) -> str:
    if not span.events:
        return ""
    return json.dumps(
        [
            {"time_unix_nano": e.time_unix_nano, "name": e.name, "attributes": _attributes(e.attributes)[0]}
            for e in span.events
        ],
        separators=(",", ":"),
        default=str,
    )


def _links(span: Any) -> str:
    if not span.links:
        return ""
    return json.dumps(
        [
            {"trace_id": ln.trace_id.hex(), "span_id": ln.span_id.hex(), "attributes": _attributes(ln.attributes)[0]}
            for ln in span.links
        ],
        separators=(",", ":"),
        default=str,
    )


def _invalid_reason(span: Any) -> str:
    trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
    if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
        return f"trace_id must be 16 non-zero bytes, got {len(trace_id)} bytes"
    if len(span_id) != 8 or span_id == _ZERO_SPAN:
        return f"span_id must be 8 non-zero bytes, got {len(span_id)} bytes"
    if parent and len(parent) != 8:
        return f"parent_span_id must be empty or 8 bytes, got {len(parent)} bytes"
    return ""


def decode_request(request: ExportTraceServiceRequest, tenant: str, pricer: Pricer,
                   custom: CustomPrices | None = None) -> DecodedRequest:
    """Validate, normalize and price every span; invalid spans are counted and described, not stored."""
    out = DecodedRequest(rows=[])
    rows = out.rows
    ingest_ms = time.time_ns() // 1_000_000
    version = time.time_ns()
    normalize = semconv.normalize
    price = pricer.price
    for resource_spans in request.resource_spans:
        resource, resource_pairs = _attributes(resource_spans.resource.attributes)
        service = str(resource.get("service.name") or "unknown_service")
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                reason = _invalid_reason(span)
                if reason:
                    out.rejected += 1
                    if len(out.errors) < _MAX_ERRORS_LISTED:
                        out.errors.append(f"span {span.name!r}: {reason}")
                    continue
                attrs, pairs = _attributes(span.attributes)
                rec = normalize(attrs)
                status_code = span.status.code
                cost = price(rec, start_time_ns=span.start_time_unix_nano, failed=status_code == 2, custom=custom)
                start, end = span.start_time_unix_nano, span.end_time_unix_nano
                # One tuple per span in storage.SPAN_COLUMNS order; transposed once per insert batch.
                rows.append((
                    tenant,
                    span.trace_id.hex(),
                    span.span_id.hex(),
                    span.parent_span_id.hex(),
                    span.name,
                    _KINDS[span.kind] if span.kind < 6 else "unspecified",
                    service,
                    scope,
                    start,
                    end,
                    end - start if end > start else 0,
                    _STATUS[status_code] if status_code < 3 else "unset",
                    span.status.message,
                    rec.operation,
                    rec.provider,
                    rec.request_model,
                    rec.response_model,
                    rec.response_model or rec.request_model,
                    rec.agent,
                    rec.section_path,
                    rec.customer,
                    rec.tool,
                    rec.is_llm,
                    rec.input_tokens,
                    rec.output_tokens,
                    rec.cache_read_tokens,
                    rec.cache_write_tokens,
                    rec.reasoning_tokens,
                    cost.total,
                    cost.input,
                    cost.output,
                    cost.cache_read,
                    cost.cache_write,
                    cost.source,
                    cost.priced,
                    cost.billable,
                    rec.is_batch,
                    rec.http_status if rec.http_status < 65536 else 0,
                    rec.error_type,
                    pairs,
                    resource_pairs,
                    _events(span) if span.events else "",
                    _links(span) if span.links else "",
                    ingest_ms,
                    version,
                ))
                out.accepted += 1
    out.rows = inherit_labels(rows)
    return out
