"""OTLP/JSON → ExportTraceServiceRequest.

OTLP/JSON differs from protobuf's canonical JSON mapping in one way that matters: trace and
span ids are hex strings, not base64. We rewrite them to base64 and let ``json_format`` do the
rest (lowerCamelCase keys, integer enums, int64 as strings).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ._exceptions import BadPayload

__all__ = ["parse_json_request"]

_ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _hex_to_b64(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        # Not hex: keep the text's bytes so validation rejects the span with a length message.
        raw = value.encode()
    return base64.b64encode(raw).decode()


def _fix_ids(obj: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        if key in obj:
            obj[key] = _hex_to_b64(obj[key])


def _objects(value: Any, *keys: str) -> list[dict[str, Any]]:
    """The dicts listed under the first of ``keys`` present; anything else is skipped (and then
    refused, with a message, by ``ParseDict``)."""
    if not isinstance(value, dict):
        return []
    for key in keys:
        if key in value:
            items = value[key]
            return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    return []


def parse_json_request(body: bytes) -> ExportTraceServiceRequest:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadPayload(f"body is not valid JSON: {str(exc)[:200]}") from exc
    if not isinstance(data, dict):
        raise BadPayload("OTLP/JSON body must be an object with 'resourceSpans'")
    for resource_spans in _objects(data, "resourceSpans", "resource_spans"):
        for scope_spans in _objects(resource_spans, "scopeSpans", "scope_spans"):
            for span in _objects(scope_spans, "spans"):
                _fix_ids(span)
                for link in _objects(span, "links"):
                    _fix_ids(link)
    try:
        return json_format.ParseDict(data, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (json_format.ParseError, AttributeError, TypeError, ValueError, RecursionError) as exc:
        raise BadPayload(f"body is not an OTLP/JSON ExportTraceServiceRequest: {str(exc)[:300]}") from exc
