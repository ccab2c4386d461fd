"""LLM calls as GenAI spans, through opentelemetry-instrumentation-httpx's hooks.

The request hook turns the httpx CLIENT span of a provider call into ``{operation} {model}``
with ``gen_ai.*`` request attributes; the response hook tees the response stream so usage can
be read from the body as the app consumes it (see ``_observer``). The span's ``end`` is guarded:
the instrumentation ends it at response headers, we end it when the body is done.
Batch API calls are handed to ``_batches``: their results become one span per request.
Model calls are also shown to the spending-cap guard (``_caps_guard``), which may refuse them here,
before they leave: that check runs whether or not the span is sampled.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import threading
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span

from llmobserve.semconv import attributes as a

from ._batches import BatchCapture, Watch
from ._caps_errors import SpendingCapExceeded
from ._caps_guard import CapsGuard
from ._observer import BodyObserver, CallObserver
from ._providers import Call, ProviderMatcher
from ._reservations import REFUSALS, Ticket
from ._streams import tee_async, tee_sync
from ._usage import UsageState

__all__ = ["Capture"]

log = logging.getLogger("llmobserve.instrumentation")

_STATE = "_llmobserve_call"
_MAX_PARSED_REQUEST = 256 * 1024  # larger request bodies: read model/stream by pattern, not json
_MODEL_RE = re.compile(rb'"model"\s*:\s*"([^"\\]{1,200})"')
_STREAM_RE = re.compile(rb'"stream"\s*:\s*true')


class _CallSpan:
    """Joins the instrumentation's end (at headers) and the body's end; the span ends after both."""

    __slots__ = ("span", "call", "observer", "exited", "lock", "watch", "ticket", "quiet")

    def __init__(self, span: Span, call: Call, watch: Watch | None = None) -> None:
        self.span = span
        self.call = call
        self.observer: BodyObserver | None = None
        self.exited = False
        self.lock = threading.Lock()
        self.watch = watch  # batch API calls: what reads the answer (model calls: a CallObserver)
        self.ticket: Ticket | None = None  # the caps guard follows this call (handed to its observer)
        self.quiet = False  # followed for the guard only: the span is not ours to describe


def _request_body(stream: Any) -> bytes:
    raw = getattr(stream, "_stream", None)  # httpx.ByteStream keeps the body as bytes
    if isinstance(raw, bytes):
        return raw
    return b""


def _request_facts(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if len(body) <= _MAX_PARSED_REQUEST:
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    found = _MODEL_RE.search(body)
    return {
        "model": found.group(1).decode("utf-8", "replace") if found else "",
        "stream": bool(_STREAM_RE.search(body)),
    }


def _headers(raw: Any) -> dict[str, str]:
    # ``.raw`` (a list of byte pairs) when present: httpx's Headers.items() costs ~20 µs per call.
    items = getattr(raw, "raw", None) or (raw.items() if hasattr(raw, "items") else raw)
    out: dict[str, str] = {}
    for key, value in items or ():
        k = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        out[k.lower()] = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return out


class Capture:
    """The hooks handed to HTTPXClientInstrumentor; holds the matcher and the options."""

    def __init__(
        self,
        matcher: ProviderMatcher,
        capture_content: bool,
        is_foreign_llm_child: Any,
        llm_calls: set[int] | None = None,
        tracer: Any = None,
        drain: Any = None,
        guard: CapsGuard | None = None,
    ) -> None:
        self.matcher = matcher
        self.guard = guard
        self.capture_content = capture_content
        self._is_foreign_llm_child = is_foreign_llm_child
        # Span ids of open httpx spans that are provider calls, shared with the PairingProcessor,
        # which exports only these (None: export every httpx call). A span id, because processors
        # are handed a read-only copy of the span at its end, not the span the hook saw.
        self._llm_calls = llm_calls
        self._batches = BatchCapture(tracer or trace.get_tracer("llmobserve"), capture_content, llm_calls, drain)

    # ---- request -------------------------------------------------------------------------
    # SpendingCapExceeded (and strict mode's InvalidReservation, see _reservations) are the only
    # exceptions that leave the hooks: raised here, inside the transport, the call never reaches the
    # network (see _caps_errors for how they pass SDK retries).
    def request_hook(self, span: Span, request: Any) -> None:
        ticket = self._admitted(span, request)
        if ticket is not None:
            self._reserve(ticket)

    async def async_request_hook(self, span: Span, request: Any) -> None:
        ticket = self._admitted(span, request)
        if ticket is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # another event loop (trio): reserve in place
            self._reserve(ticket)
            return
        try:  # the reservation's round trip on a worker thread: the event loop keeps running meanwhile
            await asyncio.to_thread(self._reserve, ticket)
        except REFUSALS:
            raise
        except Exception:  # no executor (interpreter shutting down): fail open
            log.debug("llmobserve: reserving failed", exc_info=True)

    def _reserve(self, ticket: Ticket) -> None:
        try:
            if self.guard is not None:
                self.guard.reserve(ticket)
        except REFUSALS:  # the server said no (a cap, a full ledger, a bad label): the call stays here
            raise
        except Exception:  # strict mode fails open, as the guard does
            log.debug("llmobserve: reserving failed", exc_info=True)

    def _admitted(self, span: Span, request: Any) -> Ticket | None:
        """Capture the request; returns a ticket that still needs its (strict mode) reservation."""
        try:
            guard = self.guard if self.guard is not None and self.guard.engaged else None
            if span.is_recording() or guard is not None:
                ticket = self._on_request(span, request, guard)
                return ticket if ticket is not None and ticket.reserve else None
        except SpendingCapExceeded:
            raise
        except Exception:  # capture must never break the app's call
            log.debug("llmobserve request hook failed", exc_info=True)
        return None

    def _on_request(self, span: Span, request: Any, guard: CapsGuard | None = None) -> Ticket | None:
        url = request.url
        port = url.port
        host = f"{url.host}:{port}" if port else url.host
        call = self.matcher.match(str(url), host if port else url.host, url.path)
        if call is None and port:
            call = self.matcher.match(str(url), url.host, url.path)
        if call is None:
            return None
        recording = span.is_recording()
        if call.batch:
            if recording:
                method = request.method
                watch = self._batches.on_request(
                    span,
                    call,
                    method.decode() if isinstance(method, bytes) else str(method),
                    _request_body(request.stream),
                )
                if watch is not None:
                    self._defer(span, _CallSpan(span, call, watch))
            return None
        if recording and self._llm_calls is not None:
            self._llm_calls.add(span.get_span_context().span_id)
        # A foreign child: another instrumentation already traces this call as an LLM span, price it once.
        ours = recording and not self._is_foreign_llm_child(span)
        if not ours and guard is None:
            return None
        body = _request_body(request.stream)
        facts = _request_facts(body)
        model = str(facts.get("model") or call.model_in_path or "")
        state = _CallSpan(span, call)
        if ours:
            self._describe(span, call, model, facts)
            self._defer(span, state)  # first: a refused call's span ends with its error.type
        if guard is None:
            return None
        ticket = guard.admit(call.provider, model, facts, len(body))
        if ticket is not None:
            state.ticket = ticket
            if not ours:  # follow the body for the guard only
                state.quiet = True
                self._defer(span, state)
        return ticket

    def _describe(self, span: Span, call: Call, model: str, facts: dict[str, Any]) -> None:
        attributes: dict[str, Any] = {
            a.GEN_AI_OPERATION_NAME: call.operation,
            a.GEN_AI_PROVIDER_NAME: call.provider,
        }
        if model:
            attributes[a.GEN_AI_REQUEST_MODEL] = model
        for key, name in (
            ("max_tokens", "gen_ai.request.max_tokens"),
            ("max_output_tokens", "gen_ai.request.max_tokens"),
            ("temperature", "gen_ai.request.temperature"),
            ("top_p", "gen_ai.request.top_p"),
        ):
            value = facts.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attributes[name] = value
        tier = facts.get("service_tier")
        if isinstance(tier, str) and tier:
            attributes[a.OPENAI_REQUEST_SERVICE_TIER] = tier
        if self.capture_content:
            content = facts.get("messages") or facts.get("input") or facts.get("contents")
            if content:
                attributes["gen_ai.input.messages"] = json.dumps(content, default=str)[:100_000]
        span.set_attributes(attributes)
        span.update_name(f"{call.operation} {model}" if model else call.operation)

    def _defer(self, span: Span, state: _CallSpan) -> None:
        """The span ends when its body has been read, not at headers (see ``_end``)."""
        span.__dict__[_STATE] = state
        span.__dict__["end"] = lambda end_time=None: self._end(state, end_time)

    # ---- response ------------------------------------------------------------------------
    def response_hook(self, span: Span, request: Any, response: Any) -> None:
        self._on_response(span, response, tee_sync)

    async def async_response_hook(self, span: Span, request: Any, response: Any) -> None:
        self._on_response(span, response, tee_async)

    def _on_response(self, span: Span, response: Any, tee: Any) -> None:
        state: _CallSpan | None = span.__dict__.get(_STATE)
        if state is None:
            return
        try:
            status, headers = int(response.status_code), _headers(response.headers)
            if state.watch is not None:
                observer = state.watch(span, status, headers)
            else:
                usage = UsageState(state.call.flavor, state.call.endpoint, self.capture_content)
                with state.lock:  # the observer concludes the ticket from now on, not _end
                    ticket, state.ticket = state.ticket, None
                after = functools.partial(self.guard.conclude, ticket) if ticket and self.guard else None
                observer = CallObserver(span, state.call, usage, status, headers, after, state.quiet)
            if tee(response.stream, observer):
                with state.lock:
                    state.observer = observer
            else:
                observer.finish()  # no body to follow: conclude now with what the status says
        except Exception:
            log.debug("llmobserve response hook failed", exc_info=True)

    # ---- end -------------------------------------------------------------------------------
    def _end(self, state: _CallSpan, end_time: int | None) -> None:
        """Called where the instrumentation ends the span: defer while the body is being read."""
        span = state.span
        with state.lock:
            state.exited = True
            observer = state.observer
            ticket, state.ticket = state.ticket, None
        if ticket is not None and self.guard is not None:
            self.guard.conclude(ticket, None, 0)  # no answer (or refused): release what it reserved
        if observer is not None:
            observer.on_exit()
            return
        span.__dict__.pop("end", None)
        try:
            _mark_exception(span)
        finally:
            span.end(end_time)


def _mark_exception(span: Span) -> None:
    """A call that raised (timeout, connection error) gets ``error.type`` = the exception type."""
    events = getattr(span, "events", ())
    for event in reversed(events):
        if event.name == "exception":
            kind = event.attributes.get("exception.type") if event.attributes else None
            if kind:
                span.set_attribute("error.type", str(kind))
            return
