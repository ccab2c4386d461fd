"""What the hostile-input tests share: counting what a tenant has stored, and exports that report
their outcome instead of raising."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
import httpx
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts

from tests.otlp_helpers import grpc_export, http_export

NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class Outcome:
    """A transport-neutral answer: ``code`` is the gRPC status name, HTTP statuses mapped to it."""

    code: str
    rejected: int = 0
    message: str = ""


_HTTP_CODES = {
    200: "OK",
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    413: "RESOURCE_EXHAUSTED",
    415: "INVALID_ARGUMENT",
    503: "UNAVAILABLE",
}


def export_grpc(target: str, key: str, body: bytes) -> Outcome:
    try:
        response = grpc_export(target, key, body)
    except grpc.RpcError as exc:
        return Outcome(exc.code().name, message=exc.details() or "")
    return Outcome("OK", response.partial_success.rejected_spans, response.partial_success.error_message)


def export_http(url: str, key: str, body: bytes, content_type: str = "application/x-protobuf") -> Outcome:
    response: httpx.Response = http_export(url, key, body, content_type)
    code = _HTTP_CODES.get(response.status_code, f"HTTP_{response.status_code}")
    if response.status_code != 200:
        if content_type == "application/json":
            return Outcome(code, message=response.text)
        return Outcome(code, message=Status.FromString(response.content).message)
    if content_type == "application/json":
        partial = response.json().get("partialSuccess") or {}
        return Outcome(code, int(partial.get("rejectedSpans", 0)), partial.get("errorMessage", ""))
    parsed = ts.ExportTraceServiceResponse.FromString(response.content)
    return Outcome(code, parsed.partial_success.rejected_spans, parsed.partial_success.error_message)


def stored_calls(base_url: str, key: str) -> int:
    """LLM calls the tenant has stored, over every time they could have been stored at."""
    response = httpx.get(
        f"{base_url}/api/v1/costs/breakdown",
        params={"group_by": "model", "from": "2024-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return sum(row["calls"] for row in response.json()["rows"])
