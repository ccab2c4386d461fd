"""Recognise one model call reported twice: by our HTTP capture and by another instrumentation.

Standing aside at request time (``LabelProcessor.is_foreign_llm_child``) only works when the
other instrumentation's LLM span is the parent of the HTTP call. OpenInference's and OpenLLMetry's
LangChain tracers, and LlamaIndex when streaming, start their LLM span outside the call's
context, and set its attributes only when it ends. So our captured spans wait briefly before
export; when a foreign LLM span ends that reports the same call (same model, same token counts,
overlapping in time), our span is exported marked ``llmobserve.priced_by`` and the receiver does
not price it again.

Being the last step before export, it is also where the app's non-LLM HTTP calls are left out
(unless ``trace_all_http``) and where URL attributes set after a span started are redacted.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import deque
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from llmobserve.semconv import attributes as a
from llmobserve.semconv import normalize, redact_attributes

__all__ = ["PairingProcessor"]

_CAPTURE_SCOPE = "opentelemetry.instrumentation.httpx"
_OURS = frozenset({_CAPTURE_SCOPE, "llmobserve"})
_USAGE_KEYS = frozenset(a.INPUT_TOKEN_KEYS + a.OUTPUT_TOKEN_KEYS)
_SLACK_NS = 2_000_000_000  # clocks and end orders differ a little between instrumentations


def _is_capture(span: ReadableSpan) -> bool:
    scope = span.instrumentation_scope
    attrs = span.attributes or {}
    return scope is not None and scope.name == _CAPTURE_SCOPE and a.GEN_AI_OPERATION_NAME in attrs


def _is_plain_http(span: ReadableSpan, llm_calls: set[int]) -> bool:
    """An httpx span the request hook did not recognise as a provider call (forgets the ones it did)."""
    scope = span.instrumentation_scope
    if scope is None or scope.name != _CAPTURE_SCOPE or span.context is None:
        return False
    try:
        llm_calls.remove(span.context.span_id)
    except KeyError:
        return True
    return False


def _same_model(ours: str, theirs: str) -> bool:
    if not ours or not theirs:
        return True  # one side did not say: the token counts decide
    return ours.startswith(theirs) or theirs.startswith(ours)  # "gpt-4o" vs "gpt-4o-2024-08-06"


class PairingProcessor(SpanProcessor):
    """Sits in front of the exporting processor; holds captured spans up to ``hold`` seconds.

    ``on_end`` runs in the app's thread, so it only queues; reading and matching happen on a
    background thread every 0.25 s.
    """

    def __init__(self, downstream: SpanProcessor, hold: float = 2.0, llm_calls: set[int] | None = None) -> None:
        self._downstream = downstream
        self._hold = hold
        self._llm_calls = llm_calls  # see Capture: None exports every httpx span
        self._inbox: deque[tuple[float, ReadableSpan, bool]] = deque()  # (arrived, span, is ours)
        self._held: list[tuple[float, ReadableSpan, Any]] = []  # (release at, span, its record)
        self._recent: deque[tuple[float, ReadableSpan, Any]] = deque(maxlen=256)  # ended foreign LLM spans
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timer = threading.Thread(
            target=contextvars.Context().run, args=(self._loop,), name="llmobserve-pairing", daemon=True
        )
        self._timer.start()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self._downstream.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if self._llm_calls is not None and _is_plain_http(span, self._llm_calls):
            return  # a leaf: dropping it orphans no other span
        redacted = redact_attributes(span.attributes)
        if redacted:  # set after start (where LabelProcessor redacts): the ended span is frozen, copy it
            span = _copy(span, {**(span.attributes or {}), **redacted})
        if _is_capture(span):
            self._inbox.append((time.monotonic(), span, True))
            return
        scope = span.instrumentation_scope
        if (scope is None or scope.name not in _OURS) and not _USAGE_KEYS.isdisjoint(span.attributes or {}):
            self._inbox.append((time.monotonic(), span, False))  # a possible twin: exported now, matched later
        self._downstream.on_end(span)

    def _process(self, release_all: bool = False) -> None:
        to_export: list[ReadableSpan] = []
        with self._lock:
            while self._inbox:
                arrived, span, ours = self._inbox.popleft()
                if ours:
                    # Normalising is the costly part; an app with no foreign LLM spans never needs it.
                    record = normalize(span.attributes or {}) if self._recent else None
                    twin = self._find(span, record, self._recent) if record is not None else None
                    if twin is None:
                        self._held.append((arrived + self._hold, span, record))
                    else:
                        to_export.append(_marked(span, twin))
                    continue
                record = normalize(span.attributes or {})
                if record.is_llm and record.has_usage:
                    self._recent.append((arrived, span, record))
                    for index, (_, held, ours_record) in enumerate(self._held):
                        if ours_record is None:
                            ours_record = normalize(held.attributes or {})
                            self._held[index] = (self._held[index][0], held, ours_record)
                        if self._matches(held, ours_record, span, record):
                            to_export.append(_marked(held, span))
                            del self._held[index]
                            break
            now = time.monotonic()
            due = [h for h in self._held if release_all or h[0] <= now]
            self._held = [] if release_all else [h for h in self._held if h[0] > now]
        to_export.extend(span for _, span, _ in due)
        for span in to_export:
            self._downstream.on_end(span)

    def _find(self, span: ReadableSpan, ours: Any, candidates: Any) -> ReadableSpan | None:
        for _, foreign, theirs in candidates:
            if self._matches(span, ours, foreign, theirs):
                return foreign  # type: ignore[no-any-return]  # candidates hold ReadableSpans (typed Any for speed)
        return None

    @staticmethod
    def _matches(span: ReadableSpan, ours: Any, foreign: ReadableSpan, theirs: Any) -> bool:
        if not ours.has_usage or ours.input_tokens != theirs.input_tokens or ours.output_tokens != theirs.output_tokens:
            return False
        if not _same_model(ours.request_model or ours.response_model, theirs.request_model or theirs.response_model):
            return False
        start, end = span.start_time or 0, span.end_time or 0
        return (foreign.start_time or 0) - _SLACK_NS <= start and end <= (foreign.end_time or 0) + _SLACK_NS

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            try:
                self._process()
            except Exception:  # never let a bad span stop the export of the others
                pass

    def drain(self, timeout_millis: int) -> bool:
        """Export what is queued for export, holding on to held spans: backpressure for a burst that
        would overflow the export queue (a batch's results, one span per request)."""
        return self._downstream.force_flush(timeout_millis)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        self._process(release_all=True)
        return self._downstream.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._stop.set()
        self._process(release_all=True)
        self._downstream.shutdown()


def _marked(span: ReadableSpan, twin: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` saying which span already carries this call's cost."""
    attributes = dict(span.attributes or {})
    attributes[a.LLMOBSERVE_PRICED_BY] = format(twin.context.span_id, "016x") if twin.context else "unknown"
    return _copy(span, attributes)


def _copy(span: ReadableSpan, attributes: dict[str, Any]) -> ReadableSpan:
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
