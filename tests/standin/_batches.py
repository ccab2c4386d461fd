"""Batch APIs: OpenAI Files + Batches and Anthropic Message Batches, shaped as the official SDKs parse them.

A batch is processed when it is created (each request answered as the synchronous route would,
with the provider's knobs at that moment); the create answer says ``validating`` / ``in_progress``
and any later retrieve finds it done, so apps poll before they download, as against the real APIs.

``StandInProvider.batch_failures`` makes chosen requests fail, by ``custom_id``: an HTTP status
(OpenAI: a line in the error file with that ``status_code``; Anthropic: ``errored``), or a string
(OpenAI: ``{"error": {"code": ...}}``, e.g. ``"batch_expired"``; Anthropic: ``"canceled"`` / ``"expired"``).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.standin import _anthropic, _openai
from tests.standin._common import Answer, JsonAnswer, Request, StreamAnswer, Turn, dumps, new_id, now

Handler = Callable[[Request, Turn], Answer]

_OPENAI_ROUTES: dict[str, Handler] = {
    "/chat/completions": _openai.chat_completions,
    "/responses": _openai.responses,
    "/embeddings": _openai.embeddings,
}
_FILE = re.compile(r"/files/(?P<id>[^/]+)(?P<content>/content)?$")
_BATCH = re.compile(r"/batches/(?P<id>[^/]+)$")
_MESSAGE_BATCH = re.compile(r"/v1/messages/batches(?:/(?P<id>[^/]+)(?P<results>/results)?)?$")


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


class BatchStore:
    """Files and batches of one stand-in provider; ``route`` picks the handler of a batch API request."""

    def __init__(self, failures: Callable[[], dict[str, int | str]], response_model: Callable[[], str | None]) -> None:
        self._failures = failures
        self._response_model = response_model
        self._files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self._batches: dict[str, dict[str, Any]] = {}
        self._results: dict[str, list[bytes]] = {}  # Anthropic batch id -> JSONL lines
        self._lock = threading.Lock()

    def route(self, method: str, path: str) -> tuple[str, Handler] | None:
        if found := _MESSAGE_BATCH.search(path):
            if found["id"] is None:
                return ("anthropic.batches.create", self._anthropic_create) if method == "POST" else None
            if method == "GET":
                if found["results"]:
                    return "anthropic.batches.results", self._anthropic_results
                return "anthropic.batches.retrieve", self._anthropic_retrieve
            return None
        if path.endswith("/files") and method == "POST":
            return "openai.files.create", self._file_create
        if (found := _FILE.search(path)) and method == "GET":
            return (
                ("openai.files.content", self._file_content)
                if found["content"]
                else ("openai.files.retrieve", self._file_retrieve)
            )
        if path.endswith("/batches") and method == "POST":
            return "openai.batches.create", self._openai_create
        if _BATCH.search(path) and method == "GET":
            return "openai.batches.retrieve", self._openai_retrieve
        return None

    # ------------------------------------------------------------------ OpenAI files

    def _add_file(self, data: bytes, filename: str, purpose: str) -> dict[str, Any]:
        meta = {
            "id": new_id("file-", 11),
            "object": "file",
            "bytes": len(data),
            "created_at": now(),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }
        with self._lock:
            self._files[meta["id"]] = (meta, data)
        return meta

    def _file_create(self, req: Request, turn: Turn) -> Answer:
        fields = _multipart(req)
        if "file" not in fields:
            return JsonAnswer(_openai.error_body(400, "Missing required parameter: 'file'."), status=400)
        data, filename = fields["file"]
        return JsonAnswer(
            self._add_file(data, filename or "upload.jsonl", fields.get("purpose", (b"", ""))[0].decode())
        )

    def _file(self, req: Request) -> tuple[dict[str, Any], bytes] | None:
        found = _FILE.search(req.path)
        with self._lock:
            return self._files.get(found["id"]) if found else None

    def _file_retrieve(self, req: Request, turn: Turn) -> Answer:
        file = self._file(req)
        return JsonAnswer(file[0]) if file else _openai_missing("file")

    def _file_content(self, req: Request, turn: Turn) -> Answer:
        file = self._file(req)
        if file is None:
            return _openai_missing("file")
        return JsonAnswer(file[1], headers={"Content-Type": "application/octet-stream"})

    # ------------------------------------------------------------------ OpenAI batches

    def _openai_create(self, req: Request, turn: Turn) -> Answer:
        body = req.body
        with self._lock:
            source = self._files.get(str(body.get("input_file_id")))
        if source is None:
            return _openai_missing("file")
        failures, created = self._failures(), now()
        output, errors, model = [], [], None
        for raw in source[1].splitlines():
            if not raw.strip():
                continue
            line = json.loads(raw)
            request_body = line.get("body") or {}
            model = model or request_body.get("model")
            failure = failures.get(line.get("custom_id"))
            result: dict[str, Any] = {
                "id": new_id("batch_req_", 16),
                "custom_id": line.get("custom_id"),
                "response": None,
                "error": None,
            }
            if isinstance(failure, str):
                result["error"] = {"code": failure, "message": f"Stand-in batch request failed: {failure}"}
            elif failure is not None:
                result["response"] = {
                    "status_code": failure,
                    "request_id": new_id("req_", 16),
                    "body": _openai.error_body(failure, f"Stand-in batch request failed: {failure}"),
                }
            else:
                handler = _OPENAI_ROUTES.get(str(line.get("url", "")).removeprefix("/v1"), _openai.chat_completions)
                answer = handler(_sub_request(req, request_body), _turn(turn, request_body, self._response_model()))
                result["response"] = {"status_code": 200, "request_id": new_id("req_", 16), "body": answer.body}
            (output if failure is None else errors).append(dumps(result).encode() + b"\n")
        batch = {
            "id": new_id("batch_", 16),
            "object": "batch",
            "endpoint": body.get("endpoint"),
            "model": model,
            "errors": None,
            "input_file_id": body.get("input_file_id"),
            "completion_window": body.get("completion_window", "24h"),
            "status": "completed",
            "output_file_id": self._add_file(b"".join(output), "batch_output.jsonl", "batch_output")["id"]
            if output
            else None,
            "error_file_id": self._add_file(b"".join(errors), "batch_error.jsonl", "batch_output")["id"]
            if errors
            else None,
            "created_at": created,
            "in_progress_at": created,
            "expires_at": created + 86_400,
            "finalizing_at": created,
            "completed_at": created,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": len(output) + len(errors), "completed": len(output), "failed": len(errors)},
            "metadata": body.get("metadata"),
        }
        with self._lock:
            self._batches[batch["id"]] = batch
        return JsonAnswer(
            {
                **batch,
                "status": "validating",
                "output_file_id": None,
                "error_file_id": None,
                "in_progress_at": None,
                "finalizing_at": None,
                "completed_at": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
            }
        )

    def _openai_retrieve(self, req: Request, turn: Turn) -> Answer:
        found = _BATCH.search(req.path)
        with self._lock:
            batch = self._batches.get(found["id"]) if found else None
        return JsonAnswer(batch) if batch else _openai_missing("batch")

    # ------------------------------------------------------------------ Anthropic message batches

    def _anthropic_create(self, req: Request, turn: Turn) -> Answer:
        requests = req.body.get("requests")
        if not isinstance(requests, list) or not requests:
            return JsonAnswer(_anthropic.error_body(400, "requests: Field required"), status=400)
        failures, created = self._failures(), now()
        lines, counts = [], {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for item in requests:
            params = item.get("params") or {}
            failure = failures.get(item.get("custom_id"))
            if isinstance(failure, str):
                result: dict[str, Any] = {"type": failure}
            elif failure is not None:
                result = {
                    "type": "errored",
                    "error": _anthropic.error_body(failure, f"Stand-in request failed: {failure}"),
                }
            else:
                answer = _anthropic.messages(
                    _sub_request(req, {**params, "stream": False}), _turn(turn, params, self._response_model())
                )
                answer.body["usage"]["service_tier"] = "batch"  # as the real results say
                result = {"type": "succeeded", "message": answer.body}
            counts[result["type"]] += 1
            lines.append(dumps({"custom_id": item.get("custom_id"), "result": result}).encode() + b"\n")
        batch = {
            "id": new_id("msgbatch_01", 11),
            "type": "message_batch",
            "processing_status": "ended",
            "request_counts": counts,
            "ended_at": _iso(created),
            "created_at": _iso(created),
            "expires_at": _iso(created + 86_400),
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": None,
        }
        with self._lock:
            self._batches[batch["id"]] = batch
            self._results[batch["id"]] = lines
        processing = {**{k: 0 for k in counts}, "processing": len(lines)}
        return JsonAnswer({**batch, "processing_status": "in_progress", "ended_at": None, "request_counts": processing})

    def _anthropic_batch(self, req: Request) -> dict[str, Any] | None:
        found = _MESSAGE_BATCH.search(req.path)
        with self._lock:
            return self._batches.get(found["id"]) if found and found["id"] else None

    def _anthropic_retrieve(self, req: Request, turn: Turn) -> Answer:
        batch = self._anthropic_batch(req)
        if batch is None:
            return JsonAnswer(_anthropic.error_body(404, "Batch not found"), status=404)
        # results_url points back at this server, under the prefix the client used.
        base = req.path[: req.path.index("/v1/messages/batches")]
        url = f"http://{req.headers.get('host', '127.0.0.1')}{base}/v1/messages/batches/{batch['id']}/results"
        return JsonAnswer({**batch, "results_url": url})

    def _anthropic_results(self, req: Request, turn: Turn) -> Answer:
        batch = self._anthropic_batch(req)
        if batch is None:
            return JsonAnswer(_anthropic.error_body(404, "Batch not found"), status=404)
        with self._lock:
            lines = self._results[batch["id"]]
        # Streamed in pieces that cut lines in two, as a large download arrives.
        pieces = [part for line in lines for part in (line[: len(line) // 2], line[len(line) // 2 :]) if part]
        return StreamAnswer(pieces, content_type="application/binary")


def _openai_missing(kind: str) -> Answer:
    return JsonAnswer(_openai.error_body(404, f"No such {kind}"), status=404)


def _sub_request(req: Request, body: dict[str, Any]) -> Request:
    return Request(method="POST", path=req.path, query={}, headers=req.headers, json=body, connection=req.connection)


def _turn(turn: Turn, body: dict[str, Any], response_model: str | None) -> Turn:
    model = response_model or body.get("model")
    return Turn(model=model if isinstance(model, str) else turn.model, text=turn.text, usage=turn.usage)


def _multipart(req: Request) -> dict[str, tuple[bytes, str]]:
    """multipart/form-data fields: name -> (bytes, filename)."""
    content_type = req.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return {}
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + req.raw)
    fields: dict[str, tuple[bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = (part.get_payload(decode=True) or b"", str(part.get_filename() or ""))
    return fields
