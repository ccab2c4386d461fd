"""LangChain and LlamaIndex, with OpenInference and OpenLLMetry instrumentors, next to observe().

Each case runs in its own process (instrumentors patch globally), exports to the live receiver,
and must be priced exactly once per model call, on our agent and customer:
- the openai-level instrumentors' LLM span is the parent of the HTTP call: our capture stands aside;
- the LangChain tracers (and LlamaIndex when streaming) do not parent the HTTP call: the SDK
  recognises the pair (same model, same tokens, overlapping) and marks its own span priced_by.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT
from tests.instrumentation.conftest import provider_urls, unique
from tests.otlp_helpers import breakdown
from tests.prices import as_json_number, cost
from tests.standin.provider import Usage

USAGE = Usage(input=1200, output=150, cache_read=400)
ONE_CALL = cost("gpt-4o", 1200, 150, cache_read=400)

PRELUDE = """
import os, llmobserve
from llmobserve import agent, customer
obs = llmobserve.observe(provider_urls={urls!r})
BASE = {base!r}
"""

CASES = {
    "langchain+openinference": (
        """
        from openinference.instrumentation.langchain import LangChainInstrumentor
        LangChainInstrumentor().instrument(tracer_provider=obs.provider)
        from langchain_openai import ChatOpenAI
        llm = ChatOpenAI(model="gpt-4o", base_url=BASE + "/openai/v1", api_key="x", max_retries=0, stream_usage=True)
        with customer(CUSTOMER), agent(AGENT):
            llm.invoke("hello")
            for _ in llm.stream("hello"):
                pass
    """,
        2,
    ),
    "langchain+openllmetry": (
        """
        from opentelemetry.instrumentation.langchain import LangchainInstrumentor
        LangchainInstrumentor().instrument(tracer_provider=obs.provider)
        from langchain_openai import ChatOpenAI
        llm = ChatOpenAI(model="gpt-4o", base_url=BASE + "/openai/v1", api_key="x", max_retries=0, stream_usage=True)
        with customer(CUSTOMER), agent(AGENT):
            llm.invoke("hello")
            for _ in llm.stream("hello"):
                pass
    """,
        2,
    ),
    "llamaindex+openinference": (
        """
        from openinference.instrumentation.llama_index import LlamaIndexInstrumentor
        LlamaIndexInstrumentor().instrument(tracer_provider=obs.provider)
        from llama_index.core.llms import ChatMessage
        from llama_index.llms.openai import OpenAI
        plain = OpenAI(model="gpt-4o", api_base=BASE + "/openai/v1", api_key="x", max_retries=0)
        streaming = OpenAI(model="gpt-4o", api_base=BASE + "/openai/v1", api_key="x", max_retries=0,
                           additional_kwargs={"stream_options": {"include_usage": True}})
        with customer(CUSTOMER), agent(AGENT):
            plain.chat([ChatMessage(role="user", content="hello")])
            for _ in streaming.stream_chat([ChatMessage(role="user", content="hello")]):
                pass
    """,
        2,
    ),
    "openai+openinference": (
        """
        from openinference.instrumentation.openai import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=obs.provider)
        import openai
        client = openai.OpenAI(base_url=BASE + "/openai/v1", api_key="x", max_retries=0)
        with customer(CUSTOMER), agent(AGENT):
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
            for _ in client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                                    stream=True, stream_options={"include_usage": True}):
                pass
    """,
        2,
    ),
    "openai+openllmetry": (
        """
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=obs.provider)
        import openai
        client = openai.OpenAI(base_url=BASE + "/openai/v1", api_key="x", max_retries=0)
        with customer(CUSTOMER), agent(AGENT):
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
            for _ in client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                                    stream=True, stream_options={"include_usage": True}):
                pass
    """,
        2,
    ),
}


@pytest.fixture(scope="module")
def framework_key(server) -> str:  # type: ignore[no-untyped-def]
    return server.create_key("sdk-frameworks")


@pytest.mark.parametrize("case", sorted(CASES))
def test_framework_calls_priced_once_on_our_labels(server, standin, framework_key, case: str) -> None:  # type: ignore[no-untyped-def]
    body, calls = CASES[case]
    standin.usage = USAGE
    customer_id, agent_name = unique(f"{case}-cust"), unique(f"{case}-agent")
    script = (
        PRELUDE.format(urls=provider_urls(standin.url), base=standin.url)
        + textwrap.dedent(f"CUSTOMER, AGENT = {customer_id!r}, {agent_name!r}\n")
        + textwrap.dedent(body)
        + "\nassert obs.flush(30000)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env={
            **os.environ,
            "LLMOBSERVE_API_KEY": framework_key,
            "LLMOBSERVE_ENDPOINT": server.grpc_target,
            "OTEL_SERVICE_NAME": case,
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    expected = (as_json_number(calls * ONE_CALL), calls)
    assert breakdown(server.http_url, framework_key, "customer")[customer_id] == expected
    assert breakdown(server.http_url, framework_key, "agent")[agent_name] == expected
