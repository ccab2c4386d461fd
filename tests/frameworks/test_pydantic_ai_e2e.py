"""Pydantic AI (real `pydantic-ai-slim`, its own OTel instrumentation) against the stand-in provider,
exporting OTLP/HTTP to a live server, from its own venv (pydantic-ai-slim pulls openai 3; the server
has openai 2).

The app (`pydantic_ai/app.py`) runs the agent `support_bot` twice in one conversation inside a request
span that carries `user.id=u1` and `session.id=s1`; the run passes `conversation_id="s1"`, which
Pydantic AI writes as `gen_ai.conversation.id`. Each run's `chat gpt-4o` span carries the usage and
`gen_ai.agent.name`; its `invoke_agent support_bot` parent carries the same usage again as
`gen_ai.aggregated_usage.*`, which must not be priced a second time. See SPAN_SHAPES.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.frameworks._venv import framework_python, run_app
from tests.otlp_helpers import breakdown
from tests.prices import as_json_number, cost
from tests.standin.provider import StandInProvider, Usage

pytestmark = pytest.mark.timeout(1500)  # the first run builds the venv

APP = Path(__file__).parent / "pydantic_ai" / "app.py"
USAGE = Usage(input=1200, output=150, cache_read=400, reasoning=20)
TWO_CALLS = as_json_number(2 * cost("gpt-4o", 1200, 150, cache_read=400))


@pytest.fixture(scope="module")
def run(server: LiveServer) -> Iterator[tuple[str, StandInProvider]]:
    """The app run once (two agent runs, two model calls); yields the tenant key and the provider."""
    python = framework_python("pydantic_ai")
    key = server.create_key("pydantic-ai")
    with StandInProvider(usage=USAGE) as standin:
        run_app(
            python,
            APP,
            {
                "RECEIVER": server.http_url,
                "KEY": key,
                "PROVIDER_BASE": standin.url,
                "USER_ID": "u1",
                "SESSION_ID": "s1",
                "AGENT_NAME": "support_bot",
                "TURNS": "2",
            },
        )
        assert [r["route"] for r in standin.requests] == ["openai.chat", "openai.chat"]
        yield key, standin


def test_each_model_call_is_priced_once_at_the_exact_price(
    run: tuple[str, StandInProvider], server: LiveServer
) -> None:
    key, _ = run
    # The invoke_agent spans' gen_ai.aggregated_usage.* repeats the calls' usage: never priced.
    assert breakdown(server.http_url, key, "model") == {"gpt-4o": (TWO_CALLS, 2)}
    assert breakdown(server.http_url, key, "provider") == {"openai": (TWO_CALLS, 2)}


def test_agent_is_support_bot(run: tuple[str, StandInProvider], server: LiveServer) -> None:
    key, _ = run
    assert breakdown(server.http_url, key, "agent") == {"support_bot": (TWO_CALLS, 2)}


def test_customer_is_the_user_id_of_the_enclosing_request_span(
    run: tuple[str, StandInProvider], server: LiveServer
) -> None:
    key, _ = run
    # user.id is on the app's request span, two levels above the chat spans (which carry their own agent).
    assert breakdown(server.http_url, key, "customer") == {"u1": (TWO_CALLS, 2)}


def test_session_is_the_conversation(run: tuple[str, StandInProvider], server: LiveServer) -> None:
    key, _ = run
    # gen_ai.conversation.id=s1 on every chat span; session.id=s1 on the request span above them.
    assert breakdown(server.http_url, key, "session") == {"s1": (TWO_CALLS, 2)}
