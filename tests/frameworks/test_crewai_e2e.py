"""CrewAI (real `crewai` 1.x, its native OpenAI provider) against the stand-in provider, traced by
OpenInference's `openinference-instrumentation-crewai`, exporting OTLP/HTTP to a live server from its own
venv (about 1 GB: chromadb, onnxruntime, lancedb; the first run installs it).

The app (`crewai/app.py`) kicks off the crew `support_crew`: one agent with role `support_bot`, one task
per call, inside OpenInference's `using_attributes(user_id="u1", session_id="s1")`.

Two ways OpenInference traces CrewAI, both tested:
- wrappers (its default) + OpenInference's `openai` instrumentor, as its docs pair them: the crew makes
  no LLM span, each call is the openai client's `ChatCompletion` span under the agent's
  `support_bot._execute_core` span (kind AGENT, `graph.node.id=support_bot`, no `agent.name`);
- events (`use_event_listener=True`): one `gpt-4o.llm_call` LLM span per call under
  `support_bot.<task>.execute` (AGENT, `graph.node.id`); the `support_crew.kickoff` root repeats the
  total as `llm.token_count.total` only.
See SPAN_SHAPES.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.frameworks._venv import framework_python, run_as_u1
from tests.otlp_helpers import breakdown
from tests.prices import as_json_number, cost
from tests.standin.provider import StandInProvider, Usage

pytestmark = pytest.mark.timeout(1500)  # the first run builds the venv

APP = Path(__file__).parent / "crewai" / "app.py"
USAGE = Usage(input=1200, output=150, cache_read=400, reasoning=20)
ONE_CALL = cost("gpt-4o", 1200, 150, cache_read=400)
ONE = as_json_number(ONE_CALL)
TWO = as_json_number(2 * ONE_CALL)


@pytest.fixture(scope="module")
def python() -> Path:
    return framework_python("crewai")


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInProvider]:
    with StandInProvider(usage=USAGE) as provider:
        yield provider


def _run(python: Path, server: LiveServer, standin: StandInProvider, tenant: str, **env: str) -> str:
    key = run_as_u1(python, APP, server, standin, tenant, timeout=180, **env)
    assert {r["route"] for r in standin.requests} == {"openai.chat"}
    return key


@pytest.fixture(scope="module")
def wrappers(python: Path, server: LiveServer, standin: StandInProvider) -> str:
    """Two tasks, two calls; OpenInference's crewai wrappers + openai instrumentor."""
    key = _run(python, server, standin, "crewai", TURNS="2", CREWAI_MODE="wrappers", INSTRUMENT_OPENAI="1")
    assert len(standin.requests) == 2
    return key


def test_each_model_call_is_priced_once_at_the_exact_price(wrappers: str, server: LiveServer) -> None:
    assert breakdown(server.http_url, wrappers, "model") == {"gpt-4o": (TWO, 2)}
    assert breakdown(server.http_url, wrappers, "provider") == {"openai": (TWO, 2)}


def test_agent_is_the_agent_role(wrappers: str, server: LiveServer) -> None:
    # Only `graph.node.id` (and the span name) on the AGENT span above the call names it.
    assert breakdown(server.http_url, wrappers, "agent") == {"support_bot": (TWO, 2)}


def test_customer_is_user_id(wrappers: str, server: LiveServer) -> None:
    assert breakdown(server.http_url, wrappers, "customer") == {"u1": (TWO, 2)}


def test_session_is_session_id(wrappers: str, server: LiveServer) -> None:
    assert breakdown(server.http_url, wrappers, "session") == {"s1": (TWO, 2)}


def test_event_listener_llm_span_is_priced_once_and_the_kickoff_total_is_not(
    python: Path, server: LiveServer, standin: StandInProvider
) -> None:
    key = _run(python, server, standin, "crewai-events", TURNS="1", CREWAI_MODE="events")
    assert len(standin.requests) == 1
    assert breakdown(server.http_url, key, "model") == {"gpt-4o": (ONE, 1)}
    assert breakdown(server.http_url, key, "customer") == {"u1": (ONE, 1)}
    assert breakdown(server.http_url, key, "agent") == {"support_bot": (ONE, 1)}


def test_event_listener_and_openai_instrumentor_together_charge_each_call_once(
    python: Path, server: LiveServer, standin: StandInProvider
) -> None:
    """The pairing CrewAI's docs allow and that used to count every call twice: the listener's LLM span
    under the agent, and the client's ChatCompletion span as the root of a trace of its own (CrewAI
    runs the call on a worker thread). The attributed report is kept, the other marked (issue 22)."""
    key = _run(python, server, standin, "crewai-events-openai", TURNS="2", CREWAI_MODE="events", INSTRUMENT_OPENAI="1")
    assert len(standin.requests) == 2

    def charged_once() -> bool:
        return breakdown(server.http_url, key, "agent") == {"support_bot": (TWO, 2)}

    deadline = time.monotonic() + 20  # spans of one call in two exports: the background pass pairs them
    while not charged_once() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert breakdown(server.http_url, key, "agent") == {"support_bot": (TWO, 2)}
    assert breakdown(server.http_url, key, "customer") == {"u1": (TWO, 2)}
