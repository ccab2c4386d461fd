"""``llmobserve.labels()``: the labels in force here, to carry where context does not follow
(a process pool's task, a library's thread that captured its context when it was created)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from opentelemetry import context as otel_context

from ._context import CUSTOMER, SECTION

__all__ = ["Labels", "labels"]

F = TypeVar("F", bound=Callable[..., Any])


class Labels:
    """The current span (the agent or tool above), customer and section, as taken by ``labels()``.
    ``with snapshot:`` puts them in force in any thread; ``snapshot.wrap(fn)`` does it around ``fn``."""

    def __init__(self) -> None:
        self._otel = otel_context.get_current()
        self.customer = CUSTOMER.get()
        self.section = "/".join(SECTION.get())
        self._segments = SECTION.get()
        self._entered = threading.local()  # one stack per thread: a snapshot may be in force in many

    def __enter__(self) -> Labels:
        tokens = (otel_context.attach(self._otel), CUSTOMER.set(self.customer), SECTION.set(self._segments))
        self._stack().append(tokens)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        otel, customer, section = self._stack().pop()
        SECTION.reset(section)
        CUSTOMER.reset(customer)
        otel_context.detach(otel)

    def _stack(self) -> list[Any]:
        stack: list[Any] | None = getattr(self._entered, "stack", None)
        if stack is None:
            stack = self._entered.stack = []
        return stack

    def wrap(self, fn: F) -> F:
        """``fn`` run with these labels in force, wherever it is called."""

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return run  # type: ignore[return-value]  # wraps keeps fn's signature

    def __repr__(self) -> str:
        return f"Labels(customer={self.customer!r}, section={self.section!r})"


def labels() -> Labels:
    """A snapshot of the labels in force (agent and tool spans, customer, section)::

    snapshot = llmobserve.labels()
    process_pool.submit(work, ...)           # processes cannot share it: set customer() there
    library.on_result(snapshot.wrap(handle))  # a library's own thread: re-enter the labels
    """
    return Labels()
