"""The OpenAI Agents SDK (real `openai-agents`, Responses API), traced by OpenInference's
`openinference-instrumentation-openai-agents`, against the stand-in provider, exporting OTLP/HTTP
to a live server, from its own venv (openai-agents pulls openai 3; the server has openai 2).

The app (`openai_agents/app.py`) runs the agent `support_bot` for two turns inside
`using_attributes(user_id="u1", session_id="s1")`, which puts `user.id` / `session.id` on every span.
Each model call is one `response` span (OpenInference kind LLM, `llm.token_count.*`) under
`turn` (CHAIN) under the agent span `support_bot` (kind AGENT, `agent.name`).

With OpenInference's `openai` instrumentor on as well (a common setup), each call is reported twice:
the agents `response` span and, nested in it, the openai client's `Response` span, both with the
same usage. It must still be priced once. See SPAN_SHAPES.md.
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

APP = Path(__file__).parent / "openai_agents" / "app.py"
USAGE = Usage(input=1200, output=150, cache_read=400, reasoning=20)
ONE_CALL = cost("gpt-4o", 1200, 150, cache_read=400)
TWO_CALLS = as_json_number(2 * ONE_CALL)


@pytest.fixture(scope="module")
def python() -> Path:
    return framework_python("openai_agents")


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInProvider]:
    with StandInProvider(usage=USAGE) as provider:
        yield provider


def _run(python: Path, server: LiveServer, standin: StandInProvider, tenant: str, **env: str) -> str:
    key = run_as_u1(python, APP, server, standin, tenant, **env)
    assert {r["route"] for r in standin.requests} == {"openai.responses"}
    return key


@pytest.fixture(scope="module")
def two_turns(python: Path, server: LiveServer, standin: StandInProvider) -> str:
    return _run(python, server, standin, "openai-agents", TURNS="2")


def test_each_model_call_is_priced_once_at_the_exact_price(two_turns: str, server: LiveServer) -> None:
    assert breakdown(server.http_url, two_turns, "model") == {"gpt-4o": (TWO_CALLS, 2)}
    assert breakdown(server.http_url, two_turns, "provider") == {"openai": (TWO_CALLS, 2)}  # from llm.system


def test_agent_is_support_bot(two_turns: str, server: LiveServer) -> None:
    # The response spans have no agent: it comes from the `support_bot` AGENT span two levels up.
    assert breakdown(server.http_url, two_turns, "agent") == {"support_bot": (TWO_CALLS, 2)}


def test_customer_is_user_id(two_turns: str, server: LiveServer) -> None:
    assert breakdown(server.http_url, two_turns, "customer") == {"u1": (TWO_CALLS, 2)}


def test_session_is_session_id(two_turns: str, server: LiveServer) -> None:
    assert breakdown(server.http_url, two_turns, "session") == {"s1": (TWO_CALLS, 2)}


def test_a_call_reported_by_the_agents_span_and_the_openai_span_is_priced_once(
    python: Path, server: LiveServer, standin: StandInProvider
) -> None:
    key = _run(python, server, standin, "openai-agents-nested", TURNS="1", INSTRUMENT_OPENAI="1")
    one = as_json_number(ONE_CALL)
    assert len(standin.requests) == 1
    assert breakdown(server.http_url, key, "model") == {"gpt-4o": (one, 1)}
    assert breakdown(server.http_url, key, "agent") == {"support_bot": (one, 1)}
    assert breakdown(server.http_url, key, "customer") == {"u1": (one, 1)}
