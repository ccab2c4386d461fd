"""agent / section / tool / customer / wrap_all_tools: spans and the labels every span inside carries."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry import trace

from llmobserve import agent, customer, section, tool, wrap_all_tools
from tests.instrumentation.conftest import unique

SECTION = "llmobserve.section.path"
CUSTOMER = "llmobserve.customer.id"


def _third_party_span(name: str) -> None:
    with trace.get_tracer("some.other.library").start_as_current_span(name):
        pass


def _by_name(sdk, name: str):  # type: ignore[no-untyped-def]
    found = [s for s in sdk.spans() if s.name == name]
    assert found, f"no span {name!r}"
    return found[-1]


def test_agent_sync_function_opens_invoke_agent_span_and_labels_inner_spans(sdk) -> None:  # type: ignore[no-untyped-def]
    name, cust, inner = unique("researcher"), unique("cust"), unique("inner")

    @agent(name)
    def run(x: int) -> int:
        _third_party_span(inner)
        return x * 2

    with customer(cust):
        assert run(21) == 42
    span = _by_name(sdk, f"invoke_agent {name}")
    assert span.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert span.attributes["gen_ai.agent.name"] == name
    assert span.attributes[SECTION] == f"agent:{name}" and span.attributes[CUSTOMER] == cust
    child = _by_name(sdk, inner)
    assert child.parent.span_id == span.context.span_id
    assert child.attributes[SECTION] == f"agent:{name}" and child.attributes[CUSTOMER] == cust


def test_nested_sections_build_paths_and_unwind(sdk) -> None:  # type: ignore[no-untyped-def]
    a, b = unique("span-a"), unique("span-b")
    with section("agent:research"):
        with section("tool:search"):
            _third_party_span(a)
        _third_party_span(b)
    assert _by_name(sdk, a).attributes[SECTION] == "agent:research/tool:search"
    assert _by_name(sdk, b).attributes[SECTION] == "agent:research"
    outside = unique("outside")
    _third_party_span(outside)
    assert SECTION not in _by_name(sdk, outside).attributes


def test_async_agent_and_tasks_inherit_labels(sdk) -> None:  # type: ignore[no-untyped-def]
    name, cust, inner = unique("async-agent"), unique("cust"), unique("task-span")

    @agent(name)
    async def run() -> str:
        await asyncio.gather(*(asyncio.create_task(asyncio.to_thread(lambda: None)) for _ in range(2)))
        _third_party_span(inner)
        return "ok"

    with customer(cust):
        assert asyncio.run(run()) == "ok"
    assert _by_name(sdk, inner).attributes[SECTION] == f"agent:{name}"
    assert _by_name(sdk, inner).attributes[CUSTOMER] == cust


def test_generator_agent_labels_hold_inside_and_never_leak_between_yields(sdk) -> None:  # type: ignore[no-untyped-def]
    name = unique("gen-agent")
    seen_outside: list[str] = []

    @agent(name)
    def produce(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            _third_party_span(f"{name}-step-{i}")
            yield i
        return "done"

    gen = produce(3)
    for value in gen:
        outside = f"{name}-caller-{value}"
        _third_party_span(outside)
        seen_outside.append(outside)
    root = _by_name(sdk, f"invoke_agent {name}")
    for i in range(3):
        step = _by_name(sdk, f"{name}-step-{i}")
        assert step.attributes[SECTION] == f"agent:{name}" and step.parent.span_id == root.context.span_id
    for outside in seen_outside:
        assert SECTION not in _by_name(sdk, outside).attributes  # the caller is not inside the agent


def test_async_generator_agent(sdk) -> None:  # type: ignore[no-untyped-def]
    name = unique("agen-agent")

    @agent(name)
    async def produce():  # type: ignore[no-untyped-def]
        for i in range(2):
            _third_party_span(f"{name}-step-{i}")
            yield i

    async def consume() -> list[int]:
        return [v async for v in produce()]

    assert asyncio.run(consume()) == [0, 1]
    root = _by_name(sdk, f"invoke_agent {name}")
    assert _by_name(sdk, f"{name}-step-1").parent.span_id == root.context.span_id


def test_agent_records_exceptions_and_reraises(sdk) -> None:  # type: ignore[no-untyped-def]
    name = unique("failing")

    @agent(name)
    def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        boom()
    span = _by_name(sdk, f"invoke_agent {name}")
    assert span.status.status_code.name == "ERROR" and span.attributes["error.type"] == "KeyError"


def test_tool_decorator_and_context_manager(sdk) -> None:  # type: ignore[no-untyped-def]
    name = unique("search")

    @tool(name)
    def search(q: str) -> str:
        return q.upper()

    with agent("tool-host"):
        assert search("x") == "X"
        with tool(f"{name}-cm"):
            pass
    span = _by_name(sdk, f"execute_tool {name}")
    assert span.attributes["gen_ai.tool.name"] == name
    assert span.attributes[SECTION] == f"agent:tool-host/tool:{name}"
    assert _by_name(sdk, f"execute_tool {name}-cm").attributes["gen_ai.operation.name"] == "execute_tool"


class LangChainStyleTool:
    """Shaped like LangChain's BaseTool: invoke → run → _run, plus async variants."""

    def __init__(self, name: str) -> None:
        self.name = name

    def invoke(self, value: str) -> str:
        return self.run(value)

    def run(self, value: str) -> str:
        return self._run(value)

    def _run(self, value: str) -> str:
        return value[::-1]

    async def ainvoke(self, value: str) -> str:
        return await self._arun(value)

    async def _arun(self, value: str) -> str:
        return value * 2


def test_wrap_all_tools_on_callables_lists_dicts_and_tool_objects(sdk) -> None:  # type: ignore[no-untyped-def]
    fn_name, obj_name = unique("plain_fn"), unique("lc_tool")

    def plain(x: int) -> int:
        return x + 1

    plain.__name__ = fn_name

    obj = LangChainStyleTool(obj_name)
    wrapped_list = wrap_all_tools([plain, obj])
    assert isinstance(wrapped_list, list) and wrapped_list[1] is obj
    assert wrapped_list[0](1) == 2
    assert obj.invoke("abc") == "cba"  # invoke → run → _run: one span, not three
    assert asyncio.run(obj.ainvoke("ab")) == "abab"
    wrapped_dict = wrap_all_tools({"lookup": lambda k: k})
    assert wrapped_dict["lookup"]("k") == "k"
    assert wrap_all_tools(wrapped_list) == wrapped_list  # wrapping twice changes nothing

    assert len([s for s in sdk.spans() if s.name == f"execute_tool {fn_name}"]) == 1
    assert len([s for s in sdk.spans() if s.name == f"execute_tool {obj_name}"]) == 2  # invoke + ainvoke
    assert _by_name(sdk, "execute_tool lookup").attributes["gen_ai.tool.name"] == "lookup"
    with pytest.raises(TypeError):
        wrap_all_tools(42)


@pytest.mark.parametrize("bad", ["", "noprefix", "agent:", "a:b/c", "/"])
def test_bad_section_paths_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="kind:name"):
        section(bad)


def test_bad_labels_are_refused() -> None:
    with pytest.raises(ValueError):
        customer("")
    with pytest.raises(ValueError):
        agent("a/b")
