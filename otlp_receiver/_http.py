"""OTLP/HTTP ``POST /v1/traces``: protobuf or JSON, optionally gzip, answered in the request's encoding."""

from __future__ import annotations

import gzip
import logging
import zlib

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status

from ._exceptions import BadPayload, Overloaded, PermissionDenied, ReceiverStopped, StorageUnavailable, Unauthenticated
from ._ingest import Ingestor
from ._json import parse_json_request

__all__ = ["otlp_http_router", "MAX_BODY_BYTES"]

log = logging.getLogger("llmobserve.receiver")

MAX_BODY_BYTES = 32 * 1024 * 1024
_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"


def _encode(message: Message, as_json: bool) -> bytes:
    if as_json:
        return json_format.MessageToJson(message, indent=None).encode()
    return message.SerializeToString()


def _status(
    code: int, message: str, as_json: bool, http_status: int, headers: dict[str, str] | None = None
) -> Response:
    body = _encode(Status(code=code, message=message), as_json)
    return Response(body, status_code=http_status, media_type=_JSON if as_json else _PROTOBUF, headers=headers)


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise BadPayload(f"unsupported Content-Encoding {encoding!r}: use gzip or none")
    try:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        out = inflater.decompress(body, MAX_BODY_BYTES + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise BadPayload(f"body is not valid gzip: {exc}") from exc
    if len(out) > MAX_BODY_BYTES:
        raise _TooLarge()
    return out


class _TooLarge(Exception):
    pass


def otlp_http_router(ingestor: Ingestor) -> APIRouter:
    router = APIRouter(tags=["otlp"])

    @router.post(
        "/v1/traces",
        summary="OTLP/HTTP trace export",
        description="Protobuf (`application/x-protobuf`) or JSON (`application/json`), optionally gzip.",
        response_class=Response,
    )
    async def export_traces(request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        as_json = content_type == _JSON
        try:
            principal = await ingestor.authenticate_async(request.headers.get("authorization"))
        except Unauthenticated as exc:
            return _status(16, str(exc), as_json, 401, {"WWW-Authenticate": "Bearer"})
        except PermissionDenied as exc:
            return _status(7, str(exc), as_json, 403)
        except (StorageUnavailable, Overloaded) as exc:
            # Overloaded: every key-lookup slot of the process is busy. 503, not 429: the bound is the
            # server's, shared by all senders, so this sender did nothing too often (an honest
            # exporter's first request can meet it); exporters retry both after Retry-After, and 503
            # is what gRPC's UNAVAILABLE (with RetryInfo) maps to.
            return _status(14, str(exc), as_json, 503, {"Retry-After": "1"})
        if content_type not in (_JSON, _PROTOBUF):
            return _status(3, f"unsupported Content-Type {content_type!r}: use {_PROTOBUF} or {_JSON}", as_json, 415)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _status(8, f"body over {MAX_BODY_BYTES} bytes: send smaller batches", as_json, 413)
        body = bytearray()
        async for chunk in request.stream():  # bounded even when the client sends no Content-Length
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _status(8, f"body over {MAX_BODY_BYTES} bytes: send smaller batches", as_json, 413)
        try:
            raw = _decompress(bytes(body), request.headers.get("content-encoding", "").strip().lower())
            if len(raw) > MAX_BODY_BYTES:
                raise _TooLarge()
            if as_json:
                raw = parse_json_request(raw).SerializeToString()
            response = await run_in_threadpool(ingestor.export, raw, principal)
        except _TooLarge:
            return _status(8, f"body over {MAX_BODY_BYTES} bytes: send smaller batches", as_json, 413)
        except BadPayload as exc:
            return _status(3, str(exc), as_json, 400)
        except (Overloaded, ReceiverStopped, StorageUnavailable) as exc:
            return _status(14, f"{exc}; retry later", as_json, 503, {"Retry-After": "1"})
        except Exception:  # not written, so not acknowledged: the exporter retries
            log.exception("OTLP/HTTP export failed")
            return _status(14, "storage write failed; retry later", as_json, 503, {"Retry-After": "1"})
        return Response(_encode(response, as_json), media_type=_JSON if as_json else _PROTOBUF)

    return router
