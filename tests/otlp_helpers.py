"""Building OTLP requests and reading breakdowns in tests."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from typing import Any

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.common.v1 import common_pb2 as cp
from opentelemetry.proto.resource.v1 import resource_pb2 as rp
from opentelemetry.proto.trace.v1 import trace_pb2 as tp

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def kv(key: str, value: object) -> cp.KeyValue:
    if isinstance(value, bool):
        return cp.KeyValue(key=key, value=cp.AnyValue(bool_value=value))
    if isinstance(value, int):
        return cp.KeyValue(key=key, value=cp.AnyValue(int_value=value))
    if isinstance(value, float):
        return cp.KeyValue(key=key, value=cp.AnyValue(double_value=value))
    if isinstance(value, list):
        return cp.KeyValue(
            key=key, value=cp.AnyValue(array_value=cp.ArrayValue(values=[kv("", v).value for v in value]))
        )
    return cp.KeyValue(key=key, value=cp.AnyValue(string_value=str(value)))


def span(
    name: str = "chat gpt-4o",
    attrs: dict[str, Any] | None = None,
    trace_id: bytes | None = None,
    span_id: bytes | None = None,
    parent: bytes = b"",
    start_ns: int | None = None,
    status_code: int = 0,
) -> tp.Span:
    start = start_ns or time.time_ns()
    return tp.Span(
        trace_id=trace_id if trace_id is not None else os.urandom(16),
        span_id=span_id if span_id is not None else os.urandom(8),
        parent_span_id=parent,
        name=name,
        kind=tp.Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=start,
        end_time_unix_nano=start + 1_000_000,
        attributes=[kv(k, v) for k, v in (attrs or {}).items()],
        status=tp.Status(code=status_code),
    )


def request(*spans: tp.Span, service: str = "test-app") -> ts.ExportTraceServiceRequest:
    return ts.ExportTraceServiceRequest(
        resource_spans=[
            tp.ResourceSpans(
                resource=rp.Resource(attributes=[kv("service.name", service)]),
                scope_spans=[tp.ScopeSpans(scope=cp.InstrumentationScope(name="tests"), spans=list(spans))],
            )
        ]
    )


def chat_attrs(provider: str, model: str, input_tokens: int, output_tokens: int, **extra: Any) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": input_tokens,
        "gen_ai.usage.output_tokens": output_tokens,
        **extra,
    }


def grpc_export(target: str, key: str | None, body: bytes) -> ts.ExportTraceServiceResponse:
    """Send raw bytes to TraceService/Export; raises grpc.RpcError on a non-OK status."""
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
        metadata = [("authorization", f"Bearer {key}")] if key else []
        raw = call(body, metadata=metadata, timeout=30)
    return ts.ExportTraceServiceResponse.FromString(raw)


def http_export(
    url: str, key: str | None, body: bytes, content_type: str = "application/x-protobuf", **headers: str
) -> httpx.Response:
    h = {"content-type": content_type, **headers}
    if key:
        h["authorization"] = f"Bearer {key}"
    return httpx.post(f"{url}/v1/traces", content=body, headers=h, timeout=30)


def breakdown(base_url: str, key: str, group_by: str, **params: Any) -> dict[str, tuple[Decimal, int]]:
    """{key: (cost as Decimal of the JSON number, calls)} of /costs/breakdown."""
    response = httpx.get(
        f"{base_url}/api/v1/costs/breakdown",
        params={"group_by": group_by, **params},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {row["key"]: (Decimal(str(row["cost_usd"])), row["calls"]) for row in response.json()["rows"]}
