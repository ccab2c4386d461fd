"""An AutoGen AgentChat agent (`support_bot`, an AssistantAgent on autogen-ext's OpenAIChatCompletionClient)
against the stand-in provider, exported over OTLP/HTTP. Run in the autogen test venv (see
requirements.txt: autogen-core pins protobuf 5).

AutoGen traces itself (autogen-core's GenAI spans: `invoke_agent support_bot` with `gen_ai.agent.name`)
through the global tracer provider; INSTRUMENTOR=openinference (the default) adds OpenInference's
`openinference-instrumentation-autogen-agentchat` (agent and LLM spans with `llm.token_count.*`),
INSTRUMENTOR=native leaves AutoGen's own spans alone.

Env: RECEIVER, KEY (or DUMP only), PROVIDER_BASE, USER_ID, SESSION_ID, AGENT_NAME, MODEL, TURNS,
INSTRUMENTOR, INSTRUMENT_OPENAI=1 to also trace the openai client with OpenInference's openai
instrumentor (a second, nested LLM span per call, the only one with the cached-token count). User and session: OpenInference's `using_attributes(user_id=..., session_id=...)` (on every
span OpenInference starts) inside an app request span carrying `user.id` and `session.id` (the only way
with AutoGen's own spans, which take no user or session).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # for _app_otel; appended: nothing shadowed

from _app_otel import finish, setup  # noqa: E402
from autogen_agentchat.agents import AssistantAgent  # noqa: E402
from autogen_ext.models.openai import OpenAIChatCompletionClient  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402


async def main(provider: TracerProvider) -> str:
    which = os.environ.get("INSTRUMENTOR", "openinference")
    user, session = os.environ.get("USER_ID", ""), os.environ.get("SESSION_ID", "")
    scope: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    if which == "openinference":
        from openinference.instrumentation import using_attributes
        from openinference.instrumentation.autogen_agentchat import AutogenAgentChatInstrumentor

        AutogenAgentChatInstrumentor().instrument(tracer_provider=provider)
        scope = using_attributes(user_id=user, session_id=session)
    if os.environ.get("INSTRUMENT_OPENAI") == "1":  # the openai client too: each call is then reported twice
        from openinference.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=provider)
    client = OpenAIChatCompletionClient(
        model=os.environ.get("MODEL", "gpt-4o"),
        base_url=f"{os.environ['PROVIDER_BASE']}/openai/v1",
        api_key="test",
        max_retries=0,
    )
    bot = AssistantAgent(
        os.environ.get("AGENT_NAME", "support_bot"), model_client=client, system_message="You answer support questions."
    )
    turns = int(os.environ.get("TURNS", "1"))
    attrs = {k: v for k, v in {"user.id": user, "session.id": session}.items() if v}
    with provider.get_tracer("app").start_as_current_span("handle_request", attributes=attrs), scope:
        result = await bot.run(task="My order has not arrived.")
        for _ in range(turns - 1):
            result = await bot.run(task="Can you check again?")
    await client.close()
    return f"{which}, {turns} turn(s), {result.messages[-1].content!r}"


if __name__ == "__main__":
    tracer_provider = setup("autogen-app")  # global: AutoGen's own spans use the global tracer provider
    summary = asyncio.run(main(tracer_provider))
    # After asyncio.run: it closes the agents' message streams left suspended after their final answer,
    # which is when OpenInference's agent spans end (finishing inside main() would drop those spans).
    finish(tracer_provider, summary)
