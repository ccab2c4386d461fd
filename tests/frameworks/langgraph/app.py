"""A LangGraph graph (`support_bot`: nodes `triage` then `answer`, one ChatOpenAI call each) against the
stand-in provider, traced through LangChain's callbacks by OpenInference's
`openinference-instrumentation-langchain` (INSTRUMENTOR=openinference, the default) or OpenLLMetry's
`opentelemetry-instrumentation-langchain` (INSTRUMENTOR=openllmetry), exported over OTLP/HTTP. Run in the
langgraph test venv (see requirements.txt).

Env: RECEIVER, KEY (or DUMP only), PROVIDER_BASE, USER_ID, SESSION_ID, AGENT_NAME, MODEL, INSTRUMENTOR.
The conversation is LangGraph's `thread_id` (config `configurable`, which LangGraph copies into the run
metadata); the end user goes in the run metadata as `user_id`. With OpenInference the app also wraps the
run in `using_attributes(user_id=..., session_id=...)`, its documented way to put `user.id` and
`session.id` on every span.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # for _app_otel; appended: nothing shadowed

from _app_otel import finish, setup  # noqa: E402
from langchain_core.messages import HumanMessage, SystemMessage  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402
from langgraph.graph import END, START, MessagesState, StateGraph  # noqa: E402


def main() -> None:
    provider = setup("langgraph-app")
    which = os.environ.get("INSTRUMENTOR", "openinference")
    user, session = os.environ.get("USER_ID", ""), os.environ.get("SESSION_ID", "")
    scope: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    if which == "openinference":
        from openinference.instrumentation import using_attributes
        from openinference.instrumentation.langchain import LangChainInstrumentor

        LangChainInstrumentor().instrument(tracer_provider=provider)
        scope = using_attributes(user_id=user, session_id=session)
    else:
        from opentelemetry.instrumentation.langchain import LangchainInstrumentor

        LangchainInstrumentor().instrument(tracer_provider=provider)

    llm = ChatOpenAI(
        model=os.environ.get("MODEL", "gpt-4o"),
        base_url=f"{os.environ['PROVIDER_BASE']}/openai/v1",
        api_key="test",
        max_retries=0,
    )

    def triage(state: MessagesState) -> dict[str, object]:
        reply = llm.invoke([SystemMessage("Classify the support request in one word."), *state["messages"]])
        return {"messages": [reply]}

    def answer(state: MessagesState) -> dict[str, object]:
        reply = llm.invoke([SystemMessage("You answer support questions."), *state["messages"]])
        return {"messages": [reply]}

    builder = StateGraph(MessagesState)
    builder.add_node("triage", triage)
    builder.add_node("answer", answer)
    builder.add_edge(START, "triage")
    builder.add_edge("triage", "answer")
    builder.add_edge("answer", END)
    graph = builder.compile(name=os.environ.get("AGENT_NAME", "support_bot"))

    config = {"configurable": {"thread_id": session}, "metadata": {"user_id": user}}
    with scope:
        out = graph.invoke({"messages": [HumanMessage("My order has not arrived.")]}, config=config)
    finish(provider, f"{which}, {len(out['messages'])} messages")


if __name__ == "__main__":
    main()
