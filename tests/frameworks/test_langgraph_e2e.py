"""LangGraph (real `langgraph` + `langchain-openai`) against the stand-in provider, traced through
LangChain's callbacks by OpenInference's and by OpenLLMetry's LangChain instrumentors (one run each),
exporting OTLP/HTTP to a live server from its own venv.

The app (`langgraph/app.py`) compiles the graph `support_bot` with two nodes, `triage` then `answer`,
each one ChatOpenAI call, and invokes it with LangGraph's `thread_id="s1"` (the conversation) and run
metadata `user_id="u1"` (OpenInference run: also `using_attributes(user_id, session_id)`).

Wanted, with either instrumentor: both calls priced once, exactly; agent `support_bot` (the graph);
each node a section under it (`agent:support_bot/node:triage`, `.../node:answer`); customer `u1`;
session `s1`. See SPAN_SHAPES.md for what each instrumentor sends and what the receiver must read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.frameworks._venv import framework_python, run_as_u1
from tests.otlp_helpers import breakdown
from tests.prices import as_json_number, cost
from tests.standin.provider import StandInProvider, Usage

pytestmark = pytest.mark.timeout(1500)  # the first run builds the venv

APP = Path(__file__).parent / "langgraph" / "app.py"
USAGE = Usage(input=1200, output=150, cache_read=400, reasoning=20)
ONE_CALL = cost("gpt-4o", 1200, 150, cache_read=400)
ONE = as_json_number(ONE_CALL)
TWO = as_json_number(2 * ONE_CALL)
INSTRUMENTORS = ("openinference", "openllmetry")


@pytest.fixture(scope="module")
def runs(server: LiveServer) -> Iterator[dict[str, str]]:
    """One graph run per instrumentor, each in its own tenant: {instrumentor: key}."""
    python = framework_python("langgraph")
    keys = {}
    with StandInProvider(usage=USAGE) as standin:
        for which in INSTRUMENTORS:
            keys[which] = run_as_u1(python, APP, server, standin, f"langgraph-{which}", INSTRUMENTOR=which)
            assert [r["route"] for r in standin.requests] == ["openai.chat", "openai.chat"]
        yield keys


@pytest.mark.parametrize("which", INSTRUMENTORS)
def test_each_model_call_is_priced_once_at_the_exact_price(
    runs: dict[str, str], server: LiveServer, which: str
) -> None:
    assert breakdown(server.http_url, runs[which], "model") == {"gpt-4o": (TWO, 2)}
    assert breakdown(server.http_url, runs[which], "provider") == {"openai": (TWO, 2)}


@pytest.mark.parametrize("which", INSTRUMENTORS)
def test_agent_is_the_graph(runs: dict[str, str], server: LiveServer, which: str) -> None:
    # openinference: only the root CHAIN span's *name* says `support_bot` (no agent attribute);
    # openllmetry: `gen_ai.agent.name` on the root `invoke_agent support_bot` and `support_bot.workflow` spans.
    assert breakdown(server.http_url, runs[which], "agent") == {"support_bot": (TWO, 2)}


@pytest.mark.parametrize("which", INSTRUMENTORS)
def test_each_node_is_a_section_under_the_graph(runs: dict[str, str], server: LiveServer, which: str) -> None:
    assert breakdown(server.http_url, runs[which], "section") == {
        "agent:support_bot/node:triage": (ONE, 1),
        "agent:support_bot/node:answer": (ONE, 1),
    }


@pytest.mark.parametrize("which", INSTRUMENTORS)
def test_customer_is_the_user(runs: dict[str, str], server: LiveServer, which: str) -> None:
    # openinference: `user.id` on every span; openllmetry: `traceloop.association.properties.user_id`.
    assert breakdown(server.http_url, runs[which], "customer") == {"u1": (TWO, 2)}


@pytest.mark.parametrize("which", INSTRUMENTORS)
def test_session_is_the_thread(runs: dict[str, str], server: LiveServer, which: str) -> None:
    # openinference: `session.id` (from the thread_id metadata) on every span; openllmetry:
    # `gen_ai.conversation.id` on the root span, `traceloop.association.properties.thread_id` on every span.
    assert breakdown(server.http_url, runs[which], "session") == {"s1": (TWO, 2)}
