"""Batch API calls: remember what each batch is, so its results can be priced and linked.

A batch's requests are billed at the batch rate, but the app never makes them itself: it creates
a batch, polls it, then downloads its results (see ``_batch_results``). To say which batch a
result belongs to and link it to the call that created it, this process remembers, per batch id,
the create call's span and the batch's model, and per OpenAI output or error file, its batch
(the file-content URL names only the file). Bounded: the oldest entries are forgotten first.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from opentelemetry.trace import Span, SpanContext

from llmobserve.semconv import attributes as a

from ._batch_results import BATCH_ID, ResultsObserver, ResultSpans
from ._observer import BodyObserver, decompressor
from ._providers import Call

__all__ = ["BatchCapture", "BatchRegistry"]

log = logging.getLogger("llmobserve.instrumentation")

_MAX_ENTRIES = 4096  # per map; a batch is remembered from its creation (or a poll) to its download
_MAX_CONTROL_BODY = 1024 * 1024  # a batch object is ~2 KB; a list page of 100 is ~200 KB
_MAX_SCANNED_REQUEST = 16 * 1024 * 1024  # Anthropic create bodies above this: failed lines go without a model
_MODEL_RE = re.compile(rb'"model"\s*:\s*"([^"\\]{1,200})"')

Watch = Callable[[Span, int, dict[str, str]], BodyObserver]


class BatchRegistry:
    """What this process has seen of its batches (thread-safe, bounded)."""

    def __init__(self, max_entries: int = _MAX_ENTRIES) -> None:
        self._max = max_entries
        self._batches: OrderedDict[str, tuple[SpanContext | None, str, str]] = OrderedDict()  # ctx, model, endpoint
        self._files: OrderedDict[str, str] = OrderedDict()  # output/error file id -> batch id
        self._read: OrderedDict[str, int] = OrderedDict()  # results source -> result lines already priced
        self._lock = threading.Lock()

    def _put(self, table: OrderedDict[str, Any], key: str, value: Any) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self._max:
            table.popitem(last=False)

    def learn(self, body: Any, created: SpanContext | None = None, model: str = "") -> str:
        """Record the batch objects of a create, retrieve or list answer; returns the single batch's id.
        ``model``: the one model the create request named, if it named one (Anthropic's batch objects do not)."""
        if not isinstance(body, dict):
            return ""
        items = body["data"] if isinstance(body.get("data"), list) else [body]
        found = ""
        with self._lock:
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    continue
                if item.get("object") != "batch" and item.get("type") != "message_batch":
                    continue
                found = batch_id = item["id"]
                old = self._batches.get(batch_id, (None, "", ""))
                if isinstance(item.get("model"), str):
                    model = item["model"]
                endpoint = item["endpoint"] if isinstance(item.get("endpoint"), str) else ""
                self._put(self._batches, batch_id, (created or old[0], model or old[1], endpoint or old[2]))
                for key in ("output_file_id", "error_file_id"):
                    file_id = item.get(key)
                    if isinstance(file_id, str) and file_id:
                        self._put(self._files, file_id, batch_id)
        return found if len(items) == 1 else ""

    def batch_of_file(self, file_id: str) -> str:
        with self._lock:
            return self._files.get(file_id, "")

    def batch(self, batch_id: str) -> tuple[SpanContext | None, str, str]:
        """(the create call's span context or None, the batch's model, its endpoint)."""
        with self._lock:
            return self._batches.get(batch_id, (None, "", ""))

    def lines_read(self, source: str) -> int:
        with self._lock:
            return self._read.get(source, 0)

    def mark_read(self, source: str, lines: int) -> None:
        with self._lock:
            if lines > self._read.get(source, 0):
                self._put(self._read, source, lines)


class _ControlObserver(BodyObserver):
    """Reads a batch create / retrieve / list answer (small JSON) into the registry at its end."""

    __slots__ = ("_registry", "_created", "_model", "_decoder", "_buffer", "_eof")

    def __init__(
        self, span: Span, registry: BatchRegistry, status: int, headers: dict[str, str], created: bool, model: str = ""
    ) -> None:
        super().__init__(span)
        self._registry = registry
        self._created = created
        self._model = model
        self._decoder = decompressor(headers.get("content-encoding", ""))
        self._buffer: bytearray | None = bytearray() if status < 400 and self._decoder is not False else None
        self._eof = False

    def feed(self, chunk: bytes) -> None:
        if self._buffer is None:
            return
        try:
            if self._decoder is not None:
                chunk = self._decoder.decompress(chunk)
            if len(self._buffer) + len(chunk) > _MAX_CONTROL_BODY:
                self._buffer = None
            else:
                self._buffer += chunk
        except Exception:
            self._buffer = None

    def eof(self) -> None:
        self._eof = True

    def _conclude(self, abandoned: bool) -> None:
        if self._buffer is None or not self._eof:
            return
        try:
            body = json.loads(self._buffer)
        except ValueError:
            return
        ctx = self.span.get_span_context() if self._created else None
        batch_id = self._registry.learn(body, ctx, self._model)
        if batch_id and self._created:
            self.span.set_attribute(BATCH_ID, batch_id)


class BatchCapture:
    """Decides, per batch API call, what to watch in its answer and whether its span is exported."""

    def __init__(
        self, tracer: Any, capture_content: bool, llm_calls: set[int] | None, drain: Callable[[], None] | None = None
    ) -> None:
        self.registry = BatchRegistry()
        self._tracer = tracer
        self._capture_content = capture_content
        self._llm_calls = llm_calls
        self._drain = drain or (lambda: None)

    def _export(self, span: Span) -> None:
        if self._llm_calls is not None:
            self._llm_calls.add(span.get_span_context().span_id)

    def on_request(self, span: Span, call: Call, method: str, body: bytes) -> Watch | None:
        registry = self.registry
        if call.endpoint == "batches":
            created = method.upper() == "POST"
            model = ""
            if created:  # the create call is exported: result spans link to it
                span.set_attribute(a.LLMOBSERVE_BATCH, True)
                self._export(span)
                model = _single_model(body)
            return lambda s, status, headers: _ControlObserver(s, registry, status, headers, created, model)
        if call.endpoint == "batch_retrieve":  # polls are not exported; they tell us the result files
            return lambda s, status, headers: _ControlObserver(s, registry, status, headers, False)
        if call.endpoint == "batch_results":
            return lambda s, status, headers: self._results(s, call, status, headers)
        return None

    def _results(self, span: Span, call: Call, status: int, headers: dict[str, str]) -> BodyObserver:
        # OpenAI names the file, not the batch: its batch is known if this process saw a poll or a list.
        batch_id = call.batch_ref
        if call.flavor == "openai":
            batch_id = self.registry.batch_of_file(call.batch_ref) or call.batch_ref
        created, model, endpoint = self.registry.batch(batch_id)
        spans = ResultSpans(self._tracer, span, call, batch_id, created, model, endpoint, self._capture_content)
        source = f"{call.provider}:{call.batch_ref}"
        return ResultsObserver(
            span,
            spans,
            status,
            headers,
            self.registry.lines_read(source),
            lambda lines: self.registry.mark_read(source, lines),
            lambda: self._export(span),
            self._drain,
        )


def _single_model(body: bytes) -> str:
    """The model of an Anthropic batch whose requests all name the same one (else "")."""
    if len(body) > _MAX_SCANNED_REQUEST:
        return ""
    models = {found.group(1) for found in _MODEL_RE.finditer(body)}
    return models.pop().decode("utf-8", "replace") if len(models) == 1 else ""
