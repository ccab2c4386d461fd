"""A batch's results, as the app downloads them, become one span per request.

OpenAI (``GET /files/{id}/content`` of a batch's output or error file) and Anthropic
(``GET /messages/batches/{id}/results``) answer JSONL, one request's result a line. Each line is
read as the app reads the body (whole or streamed; its bytes unchanged) and becomes a
``{operation} {model}`` span with the usage the provider reported, ``llmobserve.batch=true`` (the
receiver prices it at the batch rate), the batch id and the request's ``custom_id``, a child of the
download span and linked to the batch's create call when this process made it. A line that failed
(an error, a status >= 400, Anthropic's errored / canceled / expired) is a failed call: error status,
``error.type``, no usage. The download span itself carries no usage, so it is never priced.

Memory holds one line at most: a line over ``MAX_LINE`` bytes is skipped, and counted on the
download span (``llmobserve.batch.results.skipped``); the lines after it are still read. A file
that is not batch results (its first line is not a result) is left alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode, set_span_in_context

from llmobserve.semconv import attributes as a

from ._observer import BodyObserver, decompressor
from ._providers import Call
from ._usage import UsageState

__all__ = ["BATCH_ID", "MAX_LINE", "ResultSpans", "ResultsObserver"]

log = logging.getLogger("llmobserve.instrumentation")

# Stored as plain attributes: only llmobserve.batch changes the price.
BATCH_ID = a.LLMOBSERVE_BATCH_ID
BATCH_CUSTOM_ID = a.LLMOBSERVE_BATCH_CUSTOM_ID
RESULTS = a.LLMOBSERVE_BATCH_RESULTS
RESULTS_FAILED = a.LLMOBSERVE_BATCH_RESULTS_FAILED
RESULTS_SKIPPED = a.LLMOBSERVE_BATCH_RESULTS_SKIPPED

MAX_LINE = 8 * 1024 * 1024  # one result: a long completion is ~0.5 MB of JSON
# Spans are made faster than they export: every so many, the reader waits for the export queue
# (16,384 spans) to be sent, or a 50,000-request batch would overflow it and lose costs.
DRAIN_EVERY = 2048

# OpenAI result bodies name their kind; the batch's endpoint names it for failed lines.
_OPENAI_KINDS = {
    "chat.completion": ("chat", "chat"),
    "response": ("chat", "responses"),
    "list": ("embeddings", "embeddings"),
    "text_completion": ("text_completion", "completions"),
}
_OPENAI_ENDPOINTS = {
    "/v1/chat/completions": ("chat", "chat"),
    "/v1/responses": ("chat", "responses"),
    "/v1/embeddings": ("embeddings", "embeddings"),
    "/v1/completions": ("text_completion", "completions"),
}


class ResultSpans:
    """Turns one parsed result line into its span."""

    def __init__(
        self,
        tracer: Any,
        download: Span,
        call: Call,
        batch_id: str,
        created: SpanContext | None,
        model: str,
        endpoint: str,
        capture_content: bool,
    ) -> None:
        self._tracer = tracer
        self._parent = set_span_in_context(download)
        self._call = call
        self.batch_id = batch_id
        self._links = [Link(created)] if created is not None and created.is_valid else None
        self._model = model  # OpenAI batches hold one model: it names the failed lines too
        self._kind = _OPENAI_ENDPOINTS.get(endpoint, ("chat", "chat"))
        self._capture_content = capture_content

    def emit(self, line: Any) -> bool | None:
        """Span one result line; True if it succeeded, False if it failed, None if it is no result."""
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            return None
        if self._call.flavor == "anthropic":
            found = self._anthropic(line)
        else:
            found = self._openai(line)
        if found is None:
            return None
        operation, usage, error, message = found
        model = (usage.model if usage else "") or self._model
        attributes: dict[str, Any] = {
            a.GEN_AI_OPERATION_NAME: operation,
            a.GEN_AI_PROVIDER_NAME: self._call.provider,
            a.LLMOBSERVE_BATCH: True,
            BATCH_ID: self.batch_id,
            BATCH_CUSTOM_ID: line["custom_id"],
        }
        if self._model:
            attributes[a.GEN_AI_REQUEST_MODEL] = self._model
        if usage is not None:
            attributes.update(usage.attributes())
        if error is not None:
            attributes[a.ERROR_TYPE] = error
        span = self._tracer.start_span(
            f"{operation} {model}" if model else operation,
            context=self._parent,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            links=self._links,
        )
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, message[:200]))
        span.end()
        return error is None

    def _openai(self, line: dict[str, Any]) -> tuple[str, UsageState | None, str | None, str] | None:
        response, error = line.get("response"), line.get("error")
        if not isinstance(response, dict) and not isinstance(error, dict):
            return None  # an input line ({custom_id, method, url, body}) or another file
        body = response.get("body") if isinstance(response, dict) else None
        status = response.get("status_code") if isinstance(response, dict) else None
        status = status if isinstance(status, int) else 0
        if error is None and isinstance(body, dict) and status < 400:
            operation, endpoint = _OPENAI_KINDS.get(str(body.get("object")), self._kind)
            usage = UsageState("openai", endpoint, self._capture_content)
            usage.read_body(body)
            return operation, usage, None, ""
        detail = (body or {}).get("error") if isinstance(body, dict) else error
        detail = detail if isinstance(detail, dict) else {}
        kind = str(status) if status >= 400 else str(detail.get("code") or detail.get("type") or "error")
        return self._kind[0], None, kind, str(detail.get("message") or kind)

    def _anthropic(self, line: dict[str, Any]) -> tuple[str, UsageState | None, str | None, str] | None:
        result = line.get("result")
        if not isinstance(result, dict):
            return None
        kind = str(result.get("type") or "")
        if kind == "succeeded" and isinstance(result.get("message"), dict):
            usage = UsageState("anthropic", "messages", self._capture_content)
            usage.read_body(result["message"])
            return "chat", usage, None, ""
        detail: Any = result.get("error")
        detail = (detail.get("error") if isinstance(detail, dict) else None) or {}
        error = str(detail.get("type") or kind or "error") if kind == "errored" else kind or "error"
        return "chat", None, error, str(detail.get("message") or error)


class ResultsObserver(BodyObserver):
    """Splits a results body into lines as the app reads it, and spans each line at once."""

    __slots__ = (
        "_spans",
        "_decoder",
        "_tail",
        "_skipping",
        "_on",
        "_skip",
        "_lines",
        "_ok",
        "_failed",
        "_skipped",
        "_eof",
        "_mark_read",
        "_export",
        "_drain",
    )

    def __init__(
        self,
        span: Span,
        spans: ResultSpans,
        status: int,
        headers: dict[str, str],
        already_read: int,
        mark_read: Callable[[int], None],
        export: Callable[[], None],
        drain: Callable[[], None],
    ) -> None:
        super().__init__(span)
        self._spans = spans
        self._decoder = decompressor(headers.get("content-encoding", ""))
        self._on: bool | None = None if status < 400 and self._decoder is not False else False  # None: not yet known
        self._tail = bytearray()
        self._skipping = False  # inside a line over MAX_LINE
        self._skip = already_read  # this process priced these lines already (the app reads the file again)
        self._lines = self._ok = self._failed = self._skipped = 0
        self._eof = False
        self._mark_read = mark_read
        self._export = export
        self._drain = drain

    def _reading(self) -> bool:
        """Not given up: ``_line`` may give up halfway through a chunk."""
        return self._on is not False

    def feed(self, chunk: bytes) -> None:
        if not self._reading() or self._done:
            return
        try:
            if self._decoder is not None:
                chunk = self._decoder.decompress(chunk)
            start = 0
            while self._reading():
                end = chunk.find(b"\n", start)
                if end < 0:
                    self._keep(chunk[start:])
                    return
                self._keep(chunk[start:end])
                if self._skipping:
                    self._skipping = False  # the end of a line too long to read
                else:
                    self._line(bytes(self._tail))
                self._tail.clear()
                start = end + 1
        except Exception:  # never let capture break the app's read
            log.debug("could not read a batch results chunk", exc_info=True)
            self._on = False

    def _keep(self, piece: bytes) -> None:
        if self._skipping:
            return
        if len(self._tail) + len(piece) > MAX_LINE:
            self._tail.clear()
            self._skipping = True
            self._lines += 1
            self._skipped += 1
        else:
            self._tail += piece

    def _line(self, raw: bytes) -> None:
        if not raw.strip():
            return
        self._lines += 1
        if self._lines <= self._skip:
            return
        try:
            line = json.loads(raw)
        except ValueError:
            line = None
        outcome = self._spans.emit(line)
        if outcome is None:
            if self._on is None:  # the first line is not a result: not a results file
                self._on = False
            else:
                self._skipped += 1
            return
        if self._on is None:
            self._on = True
            self._export()
        if outcome:
            self._ok += 1
        else:
            self._failed += 1
        if (self._ok + self._failed) % DRAIN_EVERY == 0:
            self._drain()

    def eof(self) -> None:
        self._eof = True

    def _conclude(self, abandoned: bool) -> None:
        if self._on is not False and self._eof and self._tail and not self._skipping:
            self._line(bytes(self._tail))  # a last line without its newline
        self._tail = bytearray()
        if not self._on:
            return
        self._mark_read(self._lines)
        self.span.update_name("batch_results")
        self.span.set_attributes(
            {
                BATCH_ID: self._spans.batch_id,
                RESULTS: self._ok + self._failed,
                RESULTS_FAILED: self._failed,
                RESULTS_SKIPPED: self._skipped,
            }
        )
