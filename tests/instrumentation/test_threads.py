"""Model calls made on other threads keep the agent and customer they were made for: observe()
carries the context into threading.Thread, ThreadPoolExecutor (submit, map), loop.run_in_executor
and asyncio.to_thread (issue 22). The official openai client against the stand-in provider, priced
by the live receiver."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

import llmobserve
from llmobserve import agent, customer, section
from tests.conftest import ROOT, LiveServer
from tests.instrumentation.conftest import provider_urls, unique
from tests.otlp_helpers import breakdown
from tests.prices import as_json_number, cost
from tests.standin.provider import StandInProvider, Usage

MESSAGES = [{"role": "user", "content": "Say hello."}]
USAGE = Usage(input=1000, output=100)
ONE = cost("gpt-4o", 1000, 100)


def _call(standin: StandInProvider) -> str:
    client = openai.OpenAI(base_url=f"{standin.url}/openai/v1", api_key="test", max_retries=0)
    return client.chat.completions.create(model="gpt-4o", messages=MESSAGES).choices[0].message.content or ""


def _billed(sdk, name: str, cust: str, calls: int) -> None:  # type: ignore[no-untyped-def]
    expected = (as_json_number(calls * ONE), calls)
    assert sdk.costs("customer").get(cust) == expected
    assert sdk.costs("agent").get(name) == expected
    for span in sdk.span_for_customer(cust, "chat "):
        assert span.attributes["llmobserve.section.path"] == f"agent:{name}/tool:fan_out"


def test_a_thread_pool_map_keeps_agent_and_customer(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = USAGE
    name, cust = unique("pool-agent"), unique("cust")

    @agent(name)
    def run() -> list[str]:
        with section("tool:fan_out"), ThreadPoolExecutor(4) as pool:
            return list(pool.map(lambda _: _call(standin), range(4)))

    with customer(cust):
        assert len(run()) == 4
    _billed(sdk, name, cust, 4)


def test_a_plain_thread_keeps_agent_and_customer(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = USAGE
    name, cust = unique("thread-agent"), unique("cust")

    @agent(name)
    def run() -> None:
        with section("tool:fan_out"):
            worker = threading.Thread(target=_call, args=(standin,))
            worker.start()
            worker.join()

    with customer(cust):
        run()
    _billed(sdk, name, cust, 1)


def test_run_in_executor_and_to_thread_keep_agent_and_customer(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    standin.usage = USAGE
    name, cust = unique("async-agent"), unique("cust")

    @agent(name)
    async def run() -> None:
        with section("tool:fan_out"):
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, _call, standin)
            await asyncio.to_thread(_call, standin)

    with customer(cust):
        asyncio.run(run())
    _billed(sdk, name, cust, 2)


def test_labels_carry_where_context_does_not(sdk, standin) -> None:  # type: ignore[no-untyped-def]
    """A library's long-lived worker thread, started before the labels existed, runs callbacks in its
    own context: ``llmobserve.labels()`` re-enters the submitter's there."""
    standin.usage = USAGE
    name, cust = unique("snapshot-agent"), unique("cust")
    jobs: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()

    def library_worker() -> None:
        while (job := jobs.get()) is not None:
            job()

    worker = threading.Thread(target=library_worker)
    worker.start()  # before any label: its context has none

    @agent(name)
    def run() -> None:
        with section("tool:fan_out"):
            snapshot = llmobserve.labels()
            assert snapshot.customer == cust and snapshot.section == f"agent:{name}/tool:fan_out"
            jobs.put(snapshot.wrap(lambda: _call(standin)))

    with customer(cust):
        run()
    jobs.put(None)
    worker.join()
    _billed(sdk, name, cust, 1)


APP = """
import json, sys, threading
from concurrent.futures import ThreadPoolExecutor
import openai, llmobserve
from llmobserve import agent, customer

base, key, target, propagate = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
pool = ThreadPoolExecutor(2)
pool.submit(lambda: None).result()  # the pool and a worker thread exist before observe()
obs = llmobserve.observe(api_key=key, endpoint=target, service_name="threads-app",
                         provider_urls=json.loads(sys.argv[5]), propagate_threads=propagate)
client = openai.OpenAI(base_url=base + "/openai/v1", api_key="t", max_retries=0)

def call(_):
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])

@agent("parallel_researcher")
def research():
    list(pool.map(call, range(2)))
    worker = threading.Thread(target=call, args=(0,))
    worker.start()
    worker.join()

with customer("acme"):
    research()
obs.flush(30_000)
"""


@pytest.mark.parametrize("propagate", [True, False], ids=["propagate", "propagate_threads=False"])
def test_a_pool_made_before_observe_is_covered_and_the_switch_turns_it_off(
    server: LiveServer, standin: StandInProvider, propagate: bool
) -> None:
    standin.usage = USAGE
    key = server.create_key(unique("threads-app"))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(APP),
            standin.url,
            key,
            server.grpc_target,
            "1" if propagate else "0",
            json.dumps(provider_urls(standin.url)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    three = (as_json_number(3 * ONE), 3)
    if propagate:
        assert breakdown(server.http_url, key, "agent") == {"parallel_researcher": three}
        assert breakdown(server.http_url, key, "customer") == {"acme": three}
    else:  # today's behaviour before the fix: the calls lose their labels
        assert breakdown(server.http_url, key, "agent") == {"untracked": three}
        assert breakdown(server.http_url, key, "customer") == {"untracked": three}
