"""``agent``, ``tool``, ``section``, ``customer`` and ``wrap_all_tools``: label work so every span
started inside (ours, the app's, third-party instrumentations') carries who and where.

Each label works as a decorator (sync and async functions, sync and async generators) and as a
context manager. Generators are re-entered step by step, so their labels hold while they run
and never leak into the caller between yields.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from llmobserve.semconv import attributes as a

from ._context import CUSTOMER, SECTION

__all__ = ["agent", "customer", "section", "tool", "wrap_all_tools"]

F = TypeVar("F", bound=Callable[..., Any])
_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*:[^/]+$")
_TRACER_NAME = "llmobserve"
_in_tool: ContextVar[frozenset[int]] = ContextVar("llmobserve_in_tool", default=frozenset())


def _segments(path: str) -> tuple[str, ...]:
    parts = tuple(p for p in path.strip("/").split("/") if p)
    bad = [p for p in parts if not _SEGMENT.match(p)]
    if not parts or bad:
        raise ValueError(
            f"section path must be 'kind:name' segments joined by '/', e.g. 'agent:research/tool:search'; got {path!r}"
        )
    return parts


class _Label:
    """Shared machinery: enter = push section segments (+ customer, + span); works as decorator."""

    def __init__(self, segments: tuple[str, ...] = (), customer_id: str | None = None) -> None:
        self._segments = segments
        self._customer = customer_id
        self._tokens: list[tuple[Any, Any, Any, Span | None]] = []

    # -- the span this label opens, if any (agents and tools) --
    def _start_span(self) -> Span | None:
        return None

    def _activate(self) -> tuple[Any, Any, Any]:
        section = SECTION.set(SECTION.get() + self._segments) if self._segments else None
        cust = CUSTOMER.set(self._customer) if self._customer is not None else None
        return section, cust, None

    @staticmethod
    def _deactivate(tokens: tuple[Any, Any, Any]) -> None:
        section, cust, ctx = tokens
        if ctx is not None:
            otel_context.detach(ctx)
        if cust is not None:
            CUSTOMER.reset(cust)
        if section is not None:
            SECTION.reset(section)

    @contextmanager
    def _step(self, span: Span | None) -> Iterator[None]:
        section, cust, _ = self._activate()
        ctx = otel_context.attach(trace.set_span_in_context(span)) if span is not None else None
        try:
            yield
        finally:
            self._deactivate((section, cust, ctx))

    # -- context manager --
    def __enter__(self) -> Span | None:
        section, cust, _ = self._activate()  # labels first: the span itself carries them
        span = self._start_span()
        ctx = otel_context.attach(trace.set_span_in_context(span)) if span is not None else None
        self._tokens.append((section, cust, ctx, span))
        return span

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        section, cust, ctx, span = self._tokens.pop()
        if span is not None:
            _finish(span, exc)
        self._deactivate((section, cust, ctx))

    # -- decorator --
    def __call__(self, fn: F) -> F:
        if inspect.isasyncgenfunction(fn):
            return self._wrap_async_gen(fn)  # type: ignore[return-value]  # wraps keeps fn's signature
        if inspect.isgeneratorfunction(fn):
            return self._wrap_gen(fn)  # type: ignore[return-value]  # wraps keeps fn's signature
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self._fresh():
                    return await fn(*args, **kwargs)

            return run_async  # type: ignore[return-value]  # wraps keeps fn's signature

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return fn(*args, **kwargs)

        return run  # type: ignore[return-value]  # wraps keeps fn's signature

    def _fresh(self) -> _Label:
        """A new instance per call: one decorator object serves concurrent calls."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._tokens = []
        return clone

    def _wrap_gen(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            label = self._fresh()
            with label._step(None):
                span = label._start_span()
            gen = fn(*args, **kwargs)
            error: BaseException | None = None
            try:
                to_send: Any = None
                to_throw: BaseException | None = None
                while True:
                    with label._step(span):
                        try:
                            item = gen.throw(to_throw) if to_throw is not None else gen.send(to_send)
                        except StopIteration as stop:
                            return stop.value
                    to_throw = None
                    try:
                        to_send = yield item
                    except GeneratorExit:
                        with label._step(span):
                            gen.close()
                        raise
                    except BaseException as exc:  # forwarded into the generator, as `throw` does
                        to_throw = exc
            except BaseException as exc:
                error = None if isinstance(exc, GeneratorExit) else exc
                raise
            finally:
                if span is not None:
                    _finish(span, error)

        return run

    def _wrap_async_gen(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def run(*args: Any, **kwargs: Any) -> Any:
            label = self._fresh()
            with label._step(None):
                span = label._start_span()
            gen = fn(*args, **kwargs)
            error: BaseException | None = None
            try:
                to_send: Any = None
                to_throw: BaseException | None = None
                while True:
                    with label._step(span):
                        try:
                            item = await (gen.athrow(to_throw) if to_throw is not None else gen.asend(to_send))
                        except StopAsyncIteration:
                            return
                    to_throw = None
                    try:
                        to_send = yield item
                    except GeneratorExit:
                        with label._step(span):
                            await gen.aclose()
                        raise
                    except BaseException as exc:
                        to_throw = exc
            except BaseException as exc:
                error = None if isinstance(exc, GeneratorExit) else exc
                raise
            finally:
                if span is not None:
                    _finish(span, error)

        return run


def _finish(span: Span, exc: BaseException | None) -> None:
    if exc is not None and not isinstance(exc, GeneratorExit):
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        span.set_attribute("error.type", type(exc).__qualname__)
    span.end()


class section(_Label):  # noqa: N801 - used like a keyword: `with section("agent:planner")`
    """Label a region with a section path (``"agent:research/tool:search"``); nests."""

    def __init__(self, path: str) -> None:
        super().__init__(_segments(path))


class customer(_Label):  # noqa: N801
    """Attribute everything inside to an end customer: ``with customer("cust_42"):``."""

    def __init__(self, customer_id: str) -> None:
        if not isinstance(customer_id, str) or not customer_id.strip():
            raise ValueError("customer id must be a non-empty string")
        super().__init__(customer_id=customer_id.strip())


class agent(_Label):  # noqa: N801
    """An agent run: an ``invoke_agent {name}`` span with ``gen_ai.agent.name``, section ``agent:{name}``."""

    operation = "invoke_agent"
    name_attribute = a.GEN_AI_AGENT_NAME
    prefix = "agent"

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name.strip() or "/" in name:
            raise ValueError(f"{self.prefix} name must be a non-empty string without '/', got {name!r}")
        self.name = name.strip()
        super().__init__((f"{self.prefix}:{self.name}",))

    def _start_span(self) -> Span | None:
        tracer = trace.get_tracer(_TRACER_NAME)
        return tracer.start_span(
            f"{self.operation} {self.name}",
            kind=SpanKind.INTERNAL,
            attributes={a.GEN_AI_OPERATION_NAME: self.operation, self.name_attribute: self.name},
        )


class tool(agent):  # noqa: N801
    """A tool call: an ``execute_tool {name}`` span with ``gen_ai.tool.name``, section ``tool:{name}``."""

    operation = "execute_tool"
    name_attribute = a.GEN_AI_TOOL_NAME
    prefix = "tool"


_TOOL_METHODS = ("invoke", "ainvoke", "run", "arun", "_run", "_arun")


def _tool_name(obj: Any, fallback: str) -> str:
    name = getattr(obj, "name", None) or getattr(obj, "__name__", None)
    if not isinstance(name, str) or not name or name.startswith("<"):  # "<lambda>"
        return fallback
    return name.replace("/", "_")


def _guarded(method: Callable[..., Any], name: str, key: int) -> Callable[..., Any]:
    """Wrap one entry point of a tool object; nested entry points (invoke → run → _run) get one span."""
    label = tool(name)

    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            inside = _in_tool.get()
            if key in inside:
                return await method(*args, **kwargs)
            token = _in_tool.set(inside | {key})
            try:
                with label._fresh():
                    return await method(*args, **kwargs)
            finally:
                _in_tool.reset(token)

        return run_async

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        inside = _in_tool.get()
        if key in inside:
            return method(*args, **kwargs)
        token = _in_tool.set(inside | {key})
        try:
            with label._fresh():
                return method(*args, **kwargs)
        finally:
            _in_tool.reset(token)

    return run


def wrap_all_tools(tools: Any) -> Any:
    """Give every tool an ``execute_tool`` span: a callable, a list/tuple or dict of them, or
    tool objects (LangChain-style ``invoke``/``run``/``_run`` and async variants, patched in place).
    Returns the same shape it was given."""
    if isinstance(tools, dict):
        return {key: _wrap_one(value, str(key), named=True) for key, value in tools.items()}
    if isinstance(tools, (list, tuple)):
        wrapped = [_wrap_one(item, f"tool_{i}") for i, item in enumerate(tools)]
        return type(tools)(wrapped) if isinstance(tools, tuple) else wrapped
    return _wrap_one(tools, "tool")


def _wrap_one(obj: Any, fallback: str, named: bool = False) -> Any:
    """``named``: ``fallback`` is the caller's name for the tool (a dict key) and wins."""
    if getattr(obj, "__llmobserve_tool__", False):
        return obj  # already wrapped: wrapping twice would nest spans
    methods = [m for m in _TOOL_METHODS if callable(getattr(obj, m, None))]
    if methods and not inspect.isfunction(obj) and not inspect.ismethod(obj):
        name = fallback if named else _tool_name(obj, fallback)
        for attr in methods:
            # object.__setattr__: pydantic-based tools (LangChain's BaseTool) refuse unknown fields
            object.__setattr__(obj, attr, _guarded(getattr(obj, attr), name, id(obj)))
        object.__setattr__(obj, "__llmobserve_tool__", True)
        return obj
    if callable(obj):
        wrapped = tool(fallback if named else _tool_name(obj, fallback))(obj)
        try:
            wrapped.__llmobserve_tool__ = True
        except AttributeError:
            pass
        return wrapped
    raise TypeError(f"cannot wrap {type(obj).__name__} as a tool: pass callables, tool objects, or lists/dicts of them")
