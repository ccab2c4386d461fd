"""``Observation.flush()`` from one thread leaves another thread's call in flight alone: finishing
its body early cut its usage off (an unpriced span, and in strict caps mode a released reservation)."""

from __future__ import annotations

import threading

import openai

from llmobserve import customer
from tests.instrumentation.conftest import unique
from tests.standin.provider import Usage


def test_flush_from_another_thread_keeps_a_streaming_calls_usage(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = Usage(input=300, output=40)
    cust = unique("in-flight")
    reading = threading.Event()
    client = openai.OpenAI(base_url=f"{standin.url}/openai/v1", api_key="test", max_retries=0)

    def call() -> None:
        with customer(cust):
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                stream=True,
                stream_options={"include_usage": True},
                messages=[{"role": "user", "content": "hi"}],
            )
            for _ in stream:
                reading.set()

    standin.stream_delay = 0.05
    try:
        worker = threading.Thread(target=call)
        worker.start()
        assert reading.wait(10)
        assert sdk.observation.flush(10_000)  # while the other thread is still reading its stream
        worker.join(10)
    finally:
        standin.stream_delay = 0.0
    [span] = sdk.span_for_customer(cust, "chat ")
    assert span.attributes["gen_ai.usage.input_tokens"] == 300
    assert "llmobserve.stream.incomplete" not in span.attributes
