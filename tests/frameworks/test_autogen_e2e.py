"""AutoGen AgentChat (real `autogen-agentchat` 0.7 + `autogen-ext[openai]`) against the stand-in provider,
traced by AutoGen's own GenAI spans plus OpenInference's `openinference-instrumentation-autogen-agentchat`,
exporting OTLP/HTTP to a live server from its own venv (autogen-core pins protobuf 5; the server has 7).

The app (`autogen/app.py`) runs the AssistantAgent `support_bot` inside an app request span with
`user.id=u1` / `session.id=s1` and OpenInference's `using_attributes(user_id="u1", session_id="s1")`.
Per call: `invoke_agent support_bot` (autogen-core, `gen_ai.agent.name`) > `support_bot.on_messages_stream`
(OpenInference AGENT, `graph.node.id`) > `OpenAIChatCompletionClient.create` (OpenInference LLM).

That LLM span has what AutoGen's `RequestUsage` has: prompt and completion tokens, no cached tokens,
and AutoGen's resolved model name (`gpt-4o-2024-08-06`), no provider. So without more instrumentation
the call is priced without the cache discount. With OpenInference's `openai` instrumentor as well,
the client's `ChatCompletion` span (nested in it) carries the full usage: the call must then be priced
once, on that innermost span, with the discount. See SPAN_SHAPES.md.
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

APP = Path(__file__).parent / "autogen" / "app.py"
USAGE = Usage(input=1200, output=150, cache_read=400, reasoning=20)
# gpt-4o-2024-08-06 is gpt-4o's current snapshot, at gpt-4o's list price; no cached count reaches the span.
NO_CACHE_INFO = cost("gpt-4o", 1200, 150)
TWO_CALLS = as_json_number(2 * NO_CACHE_INFO)
ONE_CALL_EXACT = as_json_number(cost("gpt-4o", 1200, 150, cache_read=400))


@pytest.fixture(scope="module")
def python() -> Path:
    return framework_python("autogen")


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInProvider]:
    with StandInProvider(usage=USAGE) as provider:
        yield provider


def _run(python: Path, server: LiveServer, standin: StandInProvider, tenant: str, **env: str) -> str:
    key = run_as_u1(python, APP, server, standin, tenant, **env)
    assert {r["route"] for r in standin.requests} == {"openai.chat"}
    return key


@pytest.fixture(scope="module")
def two_turns(python: Path, server: LiveServer, standin: StandInProvider) -> str:
    return _run(python, server, standin, "autogen", TURNS="2")


def test_each_model_call_is_priced_once(two_turns: str, server: LiveServer) -> None:
    assert breakdown(server.http_url, two_turns, "model") == {"gpt-4o-2024-08-06": (TWO_CALLS, 2)}


def test_agent_is_support_bot(two_turns: str, server: LiveServer) -> None:
    assert breakdown(server.http_url, two_turns, "agent") == {"support_bot": (TWO_CALLS, 2)}


def test_customer_is_user_id(two_turns: str, server: LiveServer) -> None:
    assert breakdown(server.http_url, two_turns, "customer") == {"u1": (TWO_CALLS, 2)}


def test_session_is_session_id(two_turns: str, server: LiveServer) -> None:
    assert breakdown(server.http_url, two_turns, "session") == {"s1": (TWO_CALLS, 2)}


def test_with_the_openai_instrumentor_the_call_is_priced_once_on_the_client_span(
    python: Path, server: LiveServer, standin: StandInProvider
) -> None:
    key = _run(python, server, standin, "autogen-nested", TURNS="1", INSTRUMENT_OPENAI="1")
    assert len(standin.requests) == 1
    # The innermost span (openai's ChatCompletion: model gpt-4o, provider openai, cached tokens) prices it.
    assert breakdown(server.http_url, key, "model") == {"gpt-4o": (ONE_CALL_EXACT, 1)}
    assert breakdown(server.http_url, key, "provider") == {"openai": (ONE_CALL_EXACT, 1)}
    assert breakdown(server.http_url, key, "agent") == {"support_bot": (ONE_CALL_EXACT, 1)}
    assert breakdown(server.http_url, key, "customer") == {"u1": (ONE_CALL_EXACT, 1)}
