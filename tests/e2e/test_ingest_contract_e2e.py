"""The OTLP contract of a live server: auth, partial success, duplicates, encodings, errors."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import grpc
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.otlp_helpers import breakdown, chat_attrs, grpc_export, http_export, request, span

GPT4O = chat_attrs("openai", "gpt-4o", 1000, 500, **{"gen_ai.usage.cache_read.input_tokens": 200})


def test_same_request_twice_over_grpc_and_http_counts_once(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    body = request(
        span(attrs=GPT4O), span(attrs=chat_attrs("anthropic", "claude-3-5-haiku-20241022", 100, 10))
    ).SerializeToString()
    grpc_export(server.grpc_target, tenant_key, body)
    first = breakdown(server.http_url, tenant_key, "model")
    grpc_export(server.grpc_target, tenant_key, body)  # an exporter retry
    assert http_export(server.http_url, tenant_key, body).status_code == 200  # and once more over HTTP
    for group_by in ("provider", "model", "agent", "customer", "day"):
        again = breakdown(server.http_url, tenant_key, group_by)
        assert sum(n for _, n in again.values()) == 2
    assert breakdown(server.http_url, tenant_key, "model") == first
    assert first["gpt-4o"] == (Decimal("0.00725"), 1)


def test_invalid_spans_rejected_through_partial_success_valid_ones_kept(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    body = request(
        span(attrs=GPT4O),
        span(name="short trace id", attrs=GPT4O, trace_id=b"\x01" * 5),
        span(name="no span id", attrs=GPT4O, span_id=b""),
    ).SerializeToString()
    response = grpc_export(server.grpc_target, tenant_key, body)
    assert response.partial_success.rejected_spans == 2
    assert "trace_id must be 16" in response.partial_success.error_message
    assert "span_id must be 8" in response.partial_success.error_message
    assert breakdown(server.http_url, tenant_key, "model") == {"gpt-4o": (Decimal("0.00725"), 1)}

    http = http_export(server.http_url, tenant_key, body)
    parsed = ExportTraceServiceResponse.FromString(http.content)
    assert http.status_code == 200 and parsed.partial_success.rejected_spans == 2


@pytest.mark.parametrize("key", [None, "llmo_000000000000_not-a-real-key", "garbage"])
def test_missing_or_unknown_key_is_unauthenticated_and_stores_nothing(server, tenant_key, key) -> None:  # type: ignore[no-untyped-def]
    body = request(span(attrs=GPT4O)).SerializeToString()
    with pytest.raises(grpc.RpcError) as caught:
        grpc_export(server.grpc_target, key, body)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    response = http_export(server.http_url, key, body)
    assert response.status_code == 401
    assert Status.FromString(response.content).message
    assert breakdown(server.http_url, tenant_key, "model") == {}


def test_read_only_key_cannot_ingest(server) -> None:  # type: ignore[no-untyped-def]
    reader = server.create_key("readonly-tenant", "read")
    with pytest.raises(grpc.RpcError) as caught:
        grpc_export(server.grpc_target, reader, request(span(attrs=GPT4O)).SerializeToString())
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert http_export(server.http_url, reader, request(span(attrs=GPT4O)).SerializeToString()).status_code == 403


def test_garbage_body_is_invalid_argument_not_internal(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        grpc_export(server.grpc_target, tenant_key, b"\xff\xff\xff not protobuf")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    response = http_export(server.http_url, tenant_key, b"\xff\xff\xff not protobuf")
    assert response.status_code == 400
    assert "ExportTraceServiceRequest" in Status.FromString(response.content).message
    response = http_export(server.http_url, tenant_key, b"{not json", content_type="application/json")
    assert response.status_code == 400 and "JSON" in response.json()["message"]
    response = http_export(server.http_url, tenant_key, b"x", content_type="text/plain")
    assert response.status_code == 415


def test_otlp_json_with_hex_ids_and_gzip(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    import time

    now = time.time_ns()
    payload = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-app"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "chat gpt-4o",
                                "kind": 3,
                                "startTimeUnixNano": str(now),
                                "endTimeUnixNano": str(now + 1000),
                                "attributes": [
                                    {
                                        "key": k,
                                        "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v},
                                    }
                                    for k, v in GPT4O.items()
                                ],
                            },
                            {"traceId": "zz", "spanId": "eee19b7ec3c1b175", "name": "bad id"},
                        ]
                    }
                ],
            }
        ]
    }
    body = gzip.compress(json.dumps(payload).encode())
    response = http_export(
        server.http_url, tenant_key, body, content_type="application/json", **{"content-encoding": "gzip"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert breakdown(server.http_url, tenant_key, "model") == {"gpt-4o": (Decimal("0.00725"), 1)}


def test_api_errors_are_json(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    assert server.get("/api/v1/costs/breakdown", None, group_by="model").json()["error"] == "unauthenticated"
    bad = server.get("/api/v1/costs/breakdown", tenant_key, group_by="nope")
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_parameters"
    bad = server.get("/api/v1/costs/breakdown", tenant_key, group_by="model", **{"from": "yesterday"})
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["detail"]
    bad = server.get(
        "/api/v1/costs/breakdown",
        tenant_key,
        group_by="model",
        **{"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    )
    assert bad.status_code == 400 and "before" in bad.json()["detail"]
    assert server.get("/api/v1/nothing-here", tenant_key).json()["error"] == "not_found"
    assert server.get("/healthz", None).json()["status"] == "ok"


def test_time_range_filters_by_span_start(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    jan = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
    body = request(
        span(attrs=GPT4O, start_ns=jan), span(attrs=GPT4O, start_ns=jan + 86_400 * 10**9)
    ).SerializeToString()
    grpc_export(server.grpc_target, tenant_key, body)
    day = breakdown(server.http_url, tenant_key, "day", **{"from": "2026-01-01", "to": "2026-01-03"})
    assert day == {"2026-01-01": (Decimal("0.00725"), 1), "2026-01-02": (Decimal("0.00725"), 1)}
    only_first = breakdown(
        server.http_url, tenant_key, "model", **{"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}
    )
    assert only_first == {"gpt-4o": (Decimal("0.00725"), 1)}
