"""A CrewAI crew (`support_crew`: one agent, role `support_bot`, one task) against the stand-in provider
(CrewAI's native OpenAI provider, no LiteLLM), traced by OpenInference's
`openinference-instrumentation-crewai` and exported over OTLP/HTTP. Run in the crewai test venv (see
requirements.txt; about 1 GB). CrewAI's own telemetry and tracing are switched off (they would call
CrewAI's servers).

Env: RECEIVER, KEY (or DUMP only), PROVIDER_BASE, USER_ID, SESSION_ID, AGENT_NAME, MODEL, TURNS,
CREWAI_MODE (wrappers|events, below), INSTRUMENT_OPENAI=1 to also trace the openai client with
OpenInference's openai instrumentor (the LLM spans in wrappers mode; a second, nested LLM span per call
in events mode). User and session: OpenInference's `using_attributes(user_id=...,
session_id=...)`, which puts `user.id` and `session.id` on every span OpenInference starts.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("CREWAI_DISABLE_TRACKING", "true")
os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")
os.environ["OPENAI_API_KEY"] = "test"
# CrewAI writes a task-output database, settings and a credentials key under the home directory
# (~/.config/crewai, ~/.local/share/crewai): give it a scratch home that goes away with the run.
_scratch = tempfile.mkdtemp(prefix="crewai-app-")
atexit.register(shutil.rmtree, _scratch, True)
for _var in ("HOME", "CREWAI_STORAGE_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
    os.environ[_var] = _scratch

sys.path.append(str(Path(__file__).resolve().parent.parent))  # for _app_otel; appended: nothing shadowed

from _app_otel import finish, setup  # noqa: E402
from crewai import LLM, Agent, Crew, Task  # noqa: E402
from openinference.instrumentation import using_attributes  # noqa: E402
from openinference.instrumentation.crewai import CrewAIInstrumentor  # noqa: E402


def main() -> None:
    provider = setup("crewai-app")
    # CREWAI_MODE=wrappers (OpenInference's default): crew and agent/task spans only, no LLM spans;
    # CREWAI_MODE=events: OpenInference's CrewAI event listener, which also makes one LLM span per call.
    events = os.environ.get("CREWAI_MODE", "wrappers") == "events"
    CrewAIInstrumentor().instrument(tracer_provider=provider, use_event_listener=events)
    if os.environ.get("INSTRUMENT_OPENAI") == "1":
        from openinference.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=provider)
    llm = LLM(
        model=f"openai/{os.environ.get('MODEL', 'gpt-4o')}",
        base_url=f"{os.environ['PROVIDER_BASE']}/openai/v1",
        api_key="test",
        max_retries=0,
    )
    bot = Agent(
        role=os.environ.get("AGENT_NAME", "support_bot"),
        goal="Answer support questions.",
        backstory="You work in customer support.",
        llm=llm,
        allow_delegation=False,
        verbose=False,
    )
    tasks = [
        Task(description="The customer says: my order has not arrived. Reply.", expected_output="A reply.", agent=bot)
    ]
    if os.environ.get("TURNS", "1") == "2":
        tasks.append(
            Task(description="The customer asks: can you check again? Reply.", expected_output="A reply.", agent=bot)
        )
    crew = Crew(name="support_crew", agents=[bot], tasks=tasks, verbose=False)
    user, session = os.environ.get("USER_ID", ""), os.environ.get("SESSION_ID", "")
    with using_attributes(user_id=user, session_id=session):
        out = crew.kickoff()
    if events:  # CrewAI hands events to its listeners on worker threads: let them end their spans first
        from crewai.events.event_bus import crewai_event_bus

        crewai_event_bus.flush()
    finish(provider, f"{len(tasks)} task(s), {str(out)[:60]!r}")


if __name__ == "__main__":
    main()
