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
from llmobserve.pricing import Pricer
from llmobserve.semconv import redact_attributes
from llmobserve.storage import SpanRow, inherit_labels, mark_duplicates, price_innermost

from ._exceptions import BadPayload
from ._limits import NS_PER_DAY, NS_PER_HOUR, Limits, month_of_hour
from ._rules import TenantRules

__all__ = ["CLOCK_SKEW", "CLOCK_SKEW_ORIGINAL_START", "DecodedRequest", "decode_request", "any_value"]

CLOCK_SKEW = "llmobserve.clock_skew"
CLOCK_SKEW_ORIGINAL_START = "llmobserve.clock_skew.original_start_time_unix_nano"

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
    clock_skewed: int = 0
    skewed_services: set[str] = field(default_factory=set)
    hours: set[int] = field(default_factory=set)
    months: set[int] = field(default_factory=set)

    def reject(self, name: str, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < _MAX_ERRORS_LISTED:
            self.errors.append(f"span {name[:100]!r}: {reason}")

    def take_hour(self, hour: int, limits: Limits) -> str:
        """Admit a span starting in ``hour`` unless the request already spans too many hours or months."""
        if hour in self.hours:
            return ""
        if len(self.hours) >= limits.max_hours:
            return f"the request spans more than {limits.max_hours} distinct hours; send older spans separately"
        month = month_of_hour(hour)
        if month not in self.months and len(self.months) >= limits.max_months:
            return f"the request spans more than {limits.max_months} months; send older spans separately"
        self.hours.add(hour)
        self.months.add(month)
        return ""

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


def _redacted(values: dict[str, Any], pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Credentials in URL attributes from SDKs that do not redact them never reach storage."""
    changed = redact_attributes(values)
    if not changed:
        return pairs
    values.update(changed)
    return [(key, _as_text(changed[key])) if key in changed else (key, text) for key, text in pairs]


def _attributes(kvs: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Attributes as Python values (for normalize) and as text pairs (for the Map column), redacted."""
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
    return values, _redacted(values, pairs)


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


def _time_reason(start: int, end: int, oldest: int, limits: Limits) -> str:
    if start < oldest:
        return f"start_time is older than the {limits.retention_days}-day retention"
    if end > start and end - start > limits.max_duration_ns:
        return f"end_time is more than {limits.max_duration_ns // NS_PER_DAY} days after start_time"
    return ""


def _usage_reason(rec: semconv.GenAIRecord, limits: Limits) -> str:
    largest = max(
        rec.input_tokens, rec.output_tokens, rec.cache_read_tokens, rec.cache_write_tokens, rec.reasoning_tokens
    )
    if largest > limits.max_tokens:
        return f"token count {largest} is over {limits.max_tokens}"
    return ""


def decode_request(
    request: ExportTraceServiceRequest, rules: TenantRules, pricer: Pricer, now_ns: int | None = None
) -> DecodedRequest:
    """Validate, normalize and price every span; a span that is invalid or out of bounds is counted
    and described, not stored, and never fails the others. ``rules``: the tenant, its custom prices,
    customer and session attributes, and the bounds."""
    tenant, limits = rules.tenant, rules.limits
    spans = sum(len(scope_spans.spans) for rs in request.resource_spans for scope_spans in rs.scope_spans)
    if spans > limits.max_spans:
        raise BadPayload(f"{spans} spans in one request; send at most {limits.max_spans} per request")
    out = DecodedRequest(rows=[])
    rows = out.rows
    now = time.time_ns() if now_ns is None else now_ns
    oldest, latest = now - limits.retention_ns, now + limits.max_future_ns
    ingest_ms = now // 1_000_000
    version = time.time_ns()
    normalize = semconv.normalize
    price = pricer.price
    custom, customer_keys, session_keys = rules.custom, rules.customer_keys, rules.session_keys
    for resource_spans in request.resource_spans:
        try:
            resource, resource_pairs = _attributes(resource_spans.resource.attributes)
        except Exception as exc:  # e.g. nesting deep enough to exhaust the stack: refuse these spans only
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    out.reject(span.name, f"resource attributes cannot be read ({type(exc).__name__})")
            continue
        service = str(resource.get("service.name") or "unknown_service")
        # A service that serves one customer (or one conversation) may say so once, on its resource.
        resource_customer = semconv.customer_of(resource, customer_keys or semconv.attributes.CUSTOMER_KEYS)
        resource_session = semconv.session_of(resource, session_keys or semconv.attributes.SESSION_KEYS)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                start, end = span.start_time_unix_nano, span.end_time_unix_nano
                reason = _invalid_reason(span) or _time_reason(start, end, oldest, limits)
                if reason:
                    out.reject(span.name, reason)
                    continue
                skew = start - now if start > latest else 0
                if skew:  # the sender's clock runs ahead: keep the span, at the time we received it
                    start, end = now, (end - skew if end >= start else end)
                try:
                    attrs, pairs = _attributes(span.attributes)
                    rec = normalize(attrs, span.name)
                    reason = _usage_reason(rec, limits)
                    if not reason:
                        status_code = span.status.code
                        cost = price(rec, start_time_ns=start, failed=status_code == 2, custom=custom)
                        if cost.total > limits.max_cost:
                            reason = f"cost ${cost.total:.2f} is over ${limits.max_cost} for one span"
                    events = _events(span) if span.events else ""
                    links = _links(span) if span.links else ""
                except Exception as exc:
                    reason = f"cannot be decoded ({type(exc).__name__})"
                reason = reason or out.take_hour(start // NS_PER_HOUR, limits)
                if reason:
                    out.reject(span.name, reason)
                    continue
                if skew:
                    out.clock_skewed += 1
                    out.skewed_services.add(service)
                    pairs += [(CLOCK_SKEW, "true"), (CLOCK_SKEW_ORIGINAL_START, str(span.start_time_unix_nano))]
                # One tuple per span in storage.SPAN_COLUMNS order; transposed once per insert batch.
                rows.append(
                    (
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
                        (semconv.customer_of(attrs, customer_keys) if customer_keys else rec.customer)
                        or resource_customer,
                        (semconv.session_of(attrs, session_keys) if session_keys else rec.session) or resource_session,
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
                        events,
                        links,
                        ingest_ms,
                        version,
                    )
                )
                out.accepted += 1
    out.rows = inherit_labels(price_innermost(rows))
    if rules.detect_duplicates:  # after labels are inherited: which report is richer decides which is kept
        out.rows = mark_duplicates(out.rows)
    return out
