"""Work handed to another thread runs in the context it was handed over in.

OpenTelemetry's context (the current span) and our labels (customer, section) live in
``contextvars``. asyncio tasks and ``asyncio.to_thread`` copy them; ``threading.Thread``,
``ThreadPoolExecutor.submit`` / ``map`` and ``loop.run_in_executor`` (which submits to a pool) do not,
so a model call made on a worker thread lost its agent and customer. ``observe()`` patches
``Thread.start`` (the thread runs in a copy of the starting thread's context) and
``ThreadPoolExecutor.submit`` (each task runs in a copy of the submitting thread's context). The
classes are patched, not instances, so pools made before ``observe()`` are covered; code that copies
its own context (``asyncio.to_thread``, ``ctx.run``) runs in its own, the innermost.

Not ``opentelemetry-instrumentation-threading``: it carries OTel's context alone, not the other
context variables our labels live in. A pool's own worker threads are left as they start (each
task brings its context), so a long-lived worker never keeps the context of the first submitter.
Processes, and libraries' thread pools that capture a context when they are created, cannot be
followed: ``llmobserve.labels()`` captures the labels to re-enter there.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import thread as futures_thread
from typing import Any

__all__ = ["propagate", "propagating", "stop_propagating"]

_lock = threading.Lock()
_original_start: Callable[[threading.Thread], None] | None = None
_original_submit: Callable[..., Future[Any]] | None = None
_POOL_WORKER = getattr(futures_thread, "_worker", None)  # the function a ThreadPoolExecutor's threads run


def propagating() -> bool:
    return _original_start is not None


def propagate() -> None:
    """Patch ``Thread.start`` and ``ThreadPoolExecutor.submit`` (idempotent)."""
    global _original_start, _original_submit
    with _lock:
        if _original_start is not None:
            return
        _original_start, _original_submit = threading.Thread.start, ThreadPoolExecutor.submit
        threading.Thread.start = _start  # type: ignore[method-assign]  # the patch this module exists for
        ThreadPoolExecutor.submit = _submit  # type: ignore[method-assign, assignment]  # the patch this module exists for


def stop_propagating() -> None:
    """Put the originals back (``shutdown()``); threads and tasks already handed over keep their context."""
    global _original_start, _original_submit
    with _lock:
        if _original_start is None or _original_submit is None:
            return
        threading.Thread.start = _original_start  # type: ignore[method-assign, assignment]  # restoring the original
        ThreadPoolExecutor.submit = _original_submit  # type: ignore[method-assign]  # restoring the original
        _original_start = _original_submit = None


def _start(self: threading.Thread) -> None:
    original = _original_start or _unpatched_start
    if _POOL_WORKER is None or getattr(self, "_target", None) is not _POOL_WORKER:
        context, run = contextvars.copy_context(), self.run
        # An instance attribute: it wins over the class's run, a subclass's override included.
        self.run = lambda: context.run(run)  # type: ignore[method-assign]  # per instance, on purpose
    original(self)


def _submit(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
    original = _original_submit or _unpatched_submit
    return original(self, contextvars.copy_context().run, fn, *args, **kwargs)


# What a thread started or a task submitted while stop_propagating() runs falls back to.
_unpatched_start = threading.Thread.start
_unpatched_submit = ThreadPoolExecutor.submit
