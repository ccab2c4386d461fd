"""A Pydantic AI agent (`support_bot`) against the stand-in provider, traced by Pydantic AI's own OTel
instrumentation and exported over OTLP/HTTP. Run in the pydantic_ai test venv (see requirements.txt).

Env: RECEIVER, KEY (or DUMP only), PROVIDER_BASE, USER_ID, SESSION_ID, AGENT_NAME, MODEL.
The request handler opens one span carrying `user.id` and `session.id` (what an app that knows its
end user and conversation does), and passes the conversation to Pydantic AI as `conversation_id`
(Pydantic AI writes it as `gen_ai.conversation.id` on the agent run span).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # for _app_otel; appended: nothing shadowed

from _app_otel import finish, setup  # noqa: E402
from pydantic_ai import Agent  # noqa: E402
from pydantic_ai.capabilities.instrumentation import Instrumentation  # noqa: E402
from pydantic_ai.models.instrumented import InstrumentationSettings  # noqa: E402
from pydantic_ai.models.openai import OpenAIChatModel  # noqa: E402
from pydantic_ai.providers.openai import OpenAIProvider  # noqa: E402


def main() -> None:
    provider = setup("pydantic-ai-app")
    model = OpenAIChatModel(
        os.environ.get("MODEL", "gpt-4o"),
        provider=OpenAIProvider(base_url=f"{os.environ['PROVIDER_BASE']}/openai/v1", api_key="test"),
    )
    bot = Agent(
        model,
        name=os.environ.get("AGENT_NAME", "support_bot"),
        instructions="You answer support questions.",
        capabilities=[Instrumentation(settings=InstrumentationSettings(tracer_provider=provider))],
    )
    user, session = os.environ.get("USER_ID", ""), os.environ.get("SESSION_ID", "")
    attrs = {k: v for k, v in {"user.id": user, "session.id": session}.items() if v}
    with provider.get_tracer("app").start_as_current_span("handle_request", attributes=attrs):
        first = bot.run_sync("My order has not arrived.", conversation_id=session or None)
        calls = 1
        if os.environ.get("TURNS", "1") == "2":
            bot.run_sync("Can you check again?", message_history=first.all_messages())
            calls = 2
    finish(provider, f"{calls} run(s), {first.output!r}")


if __name__ == "__main__":
    main()
