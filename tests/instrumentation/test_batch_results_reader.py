"""The batch results reader on its own: lines cut anywhere by chunks, memory bounded by one line,
over-long lines skipped and counted, files that are not results left alone, export backpressure."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmobserve.instrumentation import _batch_results as results
from llmobserve.instrumentation._observer import wait_concluded
from llmobserve.instrumentation._providers import Call

MAX_LINE = 2_000


def _line(custom_id: str, pad: int = 0) -> bytes:
    body = {
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "pad": "x" * pad,
        "usage": {"prompt_tokens": 10, "completion_tokens": 5},
    }
    return json.dumps(
        {
            "id": "batch_req_1",
            "custom_id": custom_id,
            "error": None,
            "response": {"status_code": 200, "request_id": "req_1", "body": body},
        }
    ).encode()


@pytest.fixture
def reader(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(results, "MAX_LINE", MAX_LINE)
    monkeypatch.setattr(results, "DRAIN_EVERY", 2)
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")

    def make():  # type: ignore[no-untyped-def]
        download = tracer.start_span("GET")
        call = Call("openai", "openai", "batch", "", True, "batch_results", "file-1")
        spans = results.ResultSpans(tracer, download, call, "batch_1", None, "", "", False)
        seen: dict[str, list[int]] = {"read": [], "drains": []}
        observer = results.ResultsObserver(
            download, spans, 200, {}, 0, seen["read"].append, lambda: None, lambda: seen["drains"].append(1)
        )
        return observer, download, seen

    yield make, memory
    provider.shutdown()


def _feed(observer, body: bytes, size: int) -> None:  # type: ignore[no-untyped-def]
    for start in range(0, len(body), size):
        observer.feed(body[start : start + size])
        assert len(observer._tail) <= MAX_LINE  # never more than one line held
    observer.eof()
    observer.finish()
    observer.on_exit()
    assert wait_concluded(10)  # the span ends on the SDK's conclusion thread


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_lines_cut_anywhere_and_an_over_long_line_skipped(reader, chunk: int) -> None:  # type: ignore[no-untyped-def]
    make, memory = reader
    observer, download, seen = make()
    body = b"\n".join([_line("a"), _line("too-long", pad=MAX_LINE), b"", _line("b"), _line("c")])  # no final newline
    _feed(observer, body, chunk)
    spans = [s for s in memory.get_finished_spans() if s.name != "batch_results"]
    assert [s.attributes["llmobserve.batch.custom_id"] for s in spans] == ["a", "b", "c"]
    assert all(s.attributes["gen_ai.usage.input_tokens"] == 10 for s in spans)
    assert download.attributes["llmobserve.batch.results"] == 3
    assert download.attributes["llmobserve.batch.results.skipped"] == 1
    assert seen["read"] == [4] and len(seen["drains"]) == 1  # every DRAIN_EVERY (2) result spans


def test_a_file_that_is_not_results_yields_nothing(reader) -> None:  # type: ignore[no-untyped-def]
    make, memory = reader
    observer, download, seen = make()
    request_line = json.dumps({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}})
    _feed(observer, (request_line + "\n").encode() + _line("b") + b"\n", 5)
    assert [s.name for s in memory.get_finished_spans()] == ["GET"] and seen["read"] == []
