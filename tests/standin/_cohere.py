"""Cohere v2 ``/v2/chat`` bodies (bill on ``usage.billed_units``)."""

from __future__ import annotations

from typing import Any

from tests.standin._common import Answer, JsonAnswer, Request, StreamAnswer, Turn, Usage, new_id, sse


def chat_usage(u: Usage) -> dict[str, Any]:
    return {
        "billed_units": {"input_tokens": u.input, "output_tokens": u.output},
        "tokens": {"input_tokens": u.input, "output_tokens": u.output},
        "cached_tokens": u.cache_read,
    }


def chat(req: Request, turn: Turn) -> Answer:
    message_id = new_id("", 16)
    if not req.stream:
        return JsonAnswer(
            {
                "id": message_id,
                "message": {"role": "assistant", "content": [{"type": "text", "text": turn.text}]},
                "finish_reason": "COMPLETE",
                "usage": chat_usage(turn.usage),
            }
        )

    def event(name: str, **fields: Any) -> bytes:
        return sse({"type": name, **fields}, event=name)

    events = [
        event(
            "message-start",
            id=message_id,
            delta={
                "message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []},
            },
        ),
        event("content-start", index=0, delta={"message": {"content": {"type": "text", "text": ""}}}),
        *(event("content-delta", index=0, delta={"message": {"content": {"text": p}}}) for p in turn.pieces),
        event("content-end", index=0),
        event("message-end", delta={"finish_reason": "COMPLETE", "usage": chat_usage(turn.usage)}),
    ]
    return StreamAnswer(events)


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"id": new_id("", 16), "message": message}
