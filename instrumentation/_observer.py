"""Follow one provider call's response body as the app reads it, then end its span.

The httpx instrumentation ends its span when the response headers arrive, before any body is
read; usage lives in the body (or in the last events of a stream). So for provider calls the
span's ``end`` is deferred: a tee on the transport stream watches the bytes go by, unchanged,
and the span ends when the body is done or the app closes the response (early close = the
stream is flagged incomplete). Bytes are only collected while the app reads; they are parsed once,
when the body ends. A stream nobody closes ends when it is garbage-collected, or at
shutdown, flagged incomplete.

Parsing the body and ending the span happen on one background thread, not in the app's: the app's
call returns as soon as its last byte is read (measured: this was most of what the SDK added to a
streamed call). The span keeps the end time the body ended at; ``wait_concluded`` lets a flush
see every concluded span.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
import zlib
from collections.abc import Callable
from typing import Any

from opentelemetry.trace import Span, Status, StatusCode

from ._providers import Call
from ._usage import STREAM_INCOMPLETE, UsageState
from ._worker import Worker

__all__ = ["BodyObserver", "CallObserver", "decompressor", "open_observers", "wait_concluded"]

log = logging.getLogger("llmobserve.instrumentation")

_MAX_BODY = 16 * 1024 * 1024  # model-call bodies above this are not parsed (batch results are read line by line)
_live: weakref.WeakSet[BodyObserver] = weakref.WeakSet()


def open_observers(idle_for: float = 0.0) -> list[BodyObserver]:
    """Observers whose span has not ended yet (for flushing at shutdown); with ``idle_for``, only
    those whose body has seen no bytes for that many seconds (not a call another thread is reading)."""
    if not idle_for:
        return list(_live)
    since = time.monotonic() - idle_for
    return [observer for observer in list(_live) if observer.active_at <= since]


_concluder = Worker("llmobserve-conclude")  # ends spans whose bodies are done, in order


def _after_fork() -> None:  # the thread does not survive a fork; the child starts its own
    global _concluder
    _concluder = Worker("llmobserve-conclude")


os.register_at_fork(after_in_child=_after_fork)


def wait_concluded(timeout: float = 10.0) -> bool:
    """Wait until every finished body's span is concluded (ended, if its call has returned)."""
    return _concluder.wait(timeout)


def decompressor(encoding: str) -> Any:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    if encoding == "br":
        try:
            import brotli

            return brotli.Decompressor()
        except ImportError:
            return False
    if encoding == "zstd":
        try:
            import zstandard

            return zstandard.ZstdDecompressor().decompressobj()
        except ImportError:
            return False
    return False


class BodyObserver:
    """Follows one response body through the tee; ends the span exactly once, after both the
    instrumentation's end (at headers) and the body's end (``finish``). Subclasses read the bytes."""

    __slots__ = ("span", "active_at", "_lock", "_done", "_exited", "_concluded", "_end_ns", "__weakref__")
    # Conclude on the app's thread: what the body says is needed by the app's next call (a batch's
    # files, lines already priced), which must not race the background thread.
    conclude_inline = True

    def __init__(self, span: Span) -> None:
        self.span = span
        self.active_at = time.monotonic()  # when the body last moved (the tee stamps each chunk)
        self._lock = threading.Lock()
        self._done = False
        self._exited = False  # the instrumentation has tried to end the span
        self._concluded = False  # the body is done and the attributes are set
        self._end_ns: int | None = None
        _live.add(self)

    def feed(self, chunk: bytes) -> None:  # from the tee, in the app's thread: must never raise
        raise NotImplementedError

    def eof(self) -> None:
        raise NotImplementedError

    def _conclude(self, abandoned: bool) -> None:
        raise NotImplementedError

    def on_exit(self) -> None:
        """The instrumentation ended its part (response headers are in)."""
        with self._lock:
            self._exited = True
            ready = self._concluded
        if ready:
            self._end_span()

    def finish(self, abandoned: bool = False) -> None:
        """The body is over: on close, at end of body, at garbage collection or at shutdown. A body
        that ended normally is concluded on the background thread; an abandoned one (collected,
        or at shutdown, when threads may be gone) here."""
        with self._lock:
            if self._done:
                return
            self._done = True
            self._end_ns = time.time_ns()
        _live.discard(self)
        if abandoned or self.conclude_inline:
            self._complete(abandoned)
        else:
            _concluder.submit(lambda: self._complete(abandoned))

    def _complete(self, abandoned: bool) -> None:
        try:
            self._conclude(abandoned)
        except Exception:
            log.debug("could not conclude a provider call span", exc_info=True)
        with self._lock:
            self._concluded = True
            ready = self._exited
        if ready:
            self._end_span()

    def _end_span(self) -> None:
        self.span.__dict__.pop("end", None)  # restore the real end()
        self.span.end(end_time=self._end_ns)


class CallObserver(BodyObserver):
    """Watches one model call's response body and sets its usage on the span (concluded on the
    background thread: nothing later in the app depends on it)."""

    conclude_inline = False

    __slots__ = (
        "call",
        "state",
        "status",
        "after",
        "quiet",
        "_mode",
        "_decoder",
        "_buffer",
        "_event",
        "_data",
        "_eof",
        "_overflow",
    )

    def __init__(
        self,
        span: Span,
        call: Call,
        state: UsageState,
        status: int,
        headers: dict[str, str],
        after: Callable[[UsageState, int], None] | None = None,
        quiet: bool = False,
    ) -> None:
        super().__init__(span)
        self.call = call
        self.state = state
        self.status = status
        self.after = after  # told the usage once the body is read (the spending-cap guard)
        self.quiet = quiet  # read the usage for ``after`` only: another instrumentation describes this call
        content_type = headers.get("content-type", "").lower()
        self._mode = "sse" if "text/event-stream" in content_type else "json" if "json" in content_type else ""
        self._decoder = decompressor(headers.get("content-encoding", ""))
        if self._decoder is False:  # an encoding we cannot read: the app still gets its bytes
            self._mode = ""
        self._buffer = bytearray()
        self._event = ""
        self._data: list[bytes] = []
        self._eof = False
        self._overflow = False

    # called from the tee, in the app's thread, for every chunk: must never raise
    def feed(self, chunk: bytes) -> None:
        if not self._mode or self._done:
            return
        try:
            if self._decoder is not None:
                chunk = self._decoder.decompress(chunk)
            # Both modes only collect here (one append per chunk); parsing happens once, at the end,
            # with C-speed joins and splits: per-chunk parsing cost ~10 µs a chunk in the app's thread.
            if len(self._buffer) + len(chunk) <= _MAX_BODY:
                self._buffer += chunk
            else:
                self._overflow = True
                self._mode = ""
        except Exception:  # never let capture break the app's read
            log.debug("could not read a provider response chunk", exc_info=True)
            self._mode = ""

    def _parse_sse(self, body: bytes) -> None:
        for line in body.split(b"\n"):
            if not line or line == b"\r":
                self._dispatch()
            elif line.startswith(b"data:"):
                self._data.append(line[5:].strip())
            elif line.startswith(b"event:"):
                self._event = line[6:].strip().decode("utf-8", "replace")
        self._dispatch()  # a stream cut short may end without the blank line

    def _dispatch(self) -> None:
        if self._data:
            data = b"\n".join(self._data)
            if self.state.wants_event(self._event, data):
                self.state.read_event(self._event, data)
        self._event = ""
        self._data = []

    def eof(self) -> None:
        self._eof = True

    def _conclude(self, abandoned: bool) -> None:
        state, span = self.state, self.span
        if self._mode == "sse":
            self._parse_sse(bytes(self._buffer))
        elif self._mode == "json" and self._eof and self._buffer:
            try:
                state.read_body(json.loads(self._buffer))
            except ValueError:
                pass
        if self.after is not None:
            try:
                self.after(state, self.status)
            except Exception:
                log.debug("llmobserve: the caps guard could not conclude a call", exc_info=True)
        if self.quiet:
            return
        attributes = state.attributes()
        if self.status >= 400:
            attributes["error.type"] = str(self.status)
            span.set_status(Status(StatusCode.ERROR, f"HTTP {self.status}"))
        elif self._mode == "sse" and not state.completed:
            attributes[STREAM_INCOMPLETE] = True
        elif abandoned and not self._eof:
            attributes[STREAM_INCOMPLETE] = True
        if self._overflow:
            attributes["llmobserve.capture.skipped"] = "body too large to parse"
        span.set_attributes(attributes)
        if state.model and not span.attributes.get("gen_ai.request.model"):  # type: ignore[attr-defined]  # an SDK span, readable
            span.update_name(f"{self.call.operation} {state.model}")
