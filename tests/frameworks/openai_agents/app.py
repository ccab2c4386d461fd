"""An OpenAI Agents SDK agent (`support_bot`) against the stand-in provider (Responses API), traced by
OpenInference's `openinference-instrumentation-openai-agents` and exported over OTLP/HTTP. Run in
the openai_agents test venv (see requirements.txt).

Env: RECEIVER, KEY (or DUMP only), PROVIDER_BASE, USER_ID, SESSION_ID, AGENT_NAME, MODEL, TURNS,
INSTRUMENT_OPENAI=1 to also trace the openai client with OpenInference's openai instrumentor (a
second, nested LLM span with the same usage under each `response` span).
User and session are set the OpenInference way: `using_attributes(user_id=..., session_id=...)` puts
`user.id` and `session.id` on every span OpenInference starts in that context. The SDK's own
`group_id` (its conversation id) is set too, though no instrumentation exports it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # for _app_otel; appended: nothing shadowed

from _app_otel import finish, setup  # noqa: E402
from agents import Agent, OpenAIResponsesModel, RunConfig, Runner, trace  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402
from openinference.instrumentation import using_attributes  # noqa: E402
from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor  # noqa: E402


async def main() -> None:
    provider = setup("openai-agents-app")
    OpenAIAgentsInstrumentor().instrument(tracer_provider=provider)  # replaces the SDK's upload to OpenAI
    if os.environ.get("INSTRUMENT_OPENAI") == "1":  # the openai client too: each call is then reported twice
        from openinference.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=provider)
    client = AsyncOpenAI(base_url=f"{os.environ['PROVIDER_BASE']}/openai/v1", api_key="test", max_retries=0)
    bot = Agent(
        name=os.environ.get("AGENT_NAME", "support_bot"),
        instructions="You answer support questions.",
        model=OpenAIResponsesModel(model=os.environ.get("MODEL", "gpt-4o"), openai_client=client),
    )
    user, session = os.environ.get("USER_ID", ""), os.environ.get("SESSION_ID", "")
    turns = int(os.environ.get("TURNS", "1"))
    with using_attributes(user_id=user, session_id=session):
        with trace("support request", group_id=session or None):
            result = await Runner.run(bot, "My order has not arrived.", run_config=RunConfig(group_id=session or None))
            for _ in range(turns - 1):
                result = await Runner.run(bot, result.to_input_list() + [{"role": "user", "content": "Check again?"}])
    finish(provider, f"{turns} turn(s), {result.final_output!r}")


if __name__ == "__main__":
    asyncio.run(main())
