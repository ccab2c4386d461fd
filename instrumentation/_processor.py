"""A span processor that stamps our labels on every span at start, whoever creates it, cuts
credentials out of its URL attributes, and remembers which open spans are another
instrumentation's LLM calls (so we price those once)."""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from llmobserve.semconv import INFERENCE_OPERATIONS, redact_attributes
from llmobserve.semconv import attributes as a

from ._context import CUSTOMER, SECTION

__all__ = ["LabelProcessor"]

_OUR_SCOPES = frozenset({"llmobserve", "opentelemetry.instrumentation.httpx"})


def _is_llm_call(attributes: Any) -> bool:
    """Another instrumentation's span for one model call (OpenInference, OpenLLMetry, OTel GenAI)."""
    if not attributes:
        return False
    kind = attributes.get(a.OPENINFERENCE_SPAN_KIND)
    if kind is not None:
        return str(kind).upper() in ("LLM", "EMBEDDING")
    if attributes.get(a.LLM_REQUEST_TYPE) is not None:
        return True
    return attributes.get(a.GEN_AI_OPERATION_NAME) in INFERENCE_OPERATIONS


class LabelProcessor(SpanProcessor):
    def __init__(self) -> None:
        self._foreign_llm: dict[int, int] = {}  # span_id -> trace_id of open foreign LLM spans
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        # Instrumentations set URLs as start attributes; rewriting them here, while the span is
        # still mutable, keeps the secret out of every exporter the app has, not only ours.
        redacted = redact_attributes(span.attributes)
        if redacted:
            span.set_attributes(redacted)
        customer = CUSTOMER.get()
        if customer is not None:
            span.set_attribute(a.LLMOBSERVE_CUSTOMER_ID, customer)
        path = SECTION.get()
        if path:
            span.set_attribute(a.LLMOBSERVE_SECTION_PATH, "/".join(path))
        scope = span.instrumentation_scope
        if (scope is None or scope.name not in _OUR_SCOPES) and _is_llm_call(span.attributes):
            with self._lock:
                self._foreign_llm[span.context.span_id] = span.context.trace_id

    def on_end(self, span: ReadableSpan) -> None:
        if self._foreign_llm and span.context is not None:
            with self._lock:
                self._foreign_llm.pop(span.context.span_id, None)

    def is_foreign_llm_child(self, span: Any) -> bool:
        """Whether ``span`` (an httpx span) is a direct child of an open foreign LLM span."""
        parent = getattr(span, "parent", None)
        return bool(self._foreign_llm) and parent is not None and parent.span_id in self._foreign_llm

    def shutdown(self) -> None:
        self._foreign_llm.clear()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
