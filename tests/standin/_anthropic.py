"""Anthropic Messages API bodies (``input_tokens`` excludes cache reads and writes)."""

from __future__ import annotations

from typing import Any

from tests.standin._common import Answer, JsonAnswer, Request, StreamAnswer, Turn, Usage, new_id, sse


def message_usage(u: Usage, *, output_tokens: int | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": u.uncached_input,
        "cache_creation_input_tokens": u.cache_write_total,
        "cache_read_input_tokens": u.cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": u.cache_write,
            "ephemeral_1h_input_tokens": u.cache_write_1h,
        },
        "output_tokens": u.output if output_tokens is None else output_tokens,
        "service_tier": "standard",
    }
    if u.reasoning:
        usage["output_tokens_details"] = {"thinking_tokens": u.reasoning}
    return usage


def _message(turn: Turn, message_id: str, *, final: bool) -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": turn.model,
        "content": [{"type": "text", "text": turn.text}] if final else [],
        "stop_reason": "end_turn" if final else None,
        "stop_sequence": None,
        # message_start reports the input side in full and a provisional output count.
        "usage": message_usage(turn.usage, output_tokens=None if final else min(1, turn.usage.output)),
    }


def messages(req: Request, turn: Turn) -> Answer:
    message_id = new_id("msg_01", 11)
    if not req.stream:
        return JsonAnswer(_message(turn, message_id, final=True))

    def event(name: str, **fields: Any) -> bytes:
        return sse({"type": name, **fields}, event=name)

    u = turn.usage
    final_usage: dict[str, Any] = {  # message_delta: cumulative totals; the last one wins
        "input_tokens": u.uncached_input,
        "cache_creation_input_tokens": u.cache_write_total,
        "cache_read_input_tokens": u.cache_read,
        "output_tokens": u.output,
    }
    if u.reasoning:
        final_usage["output_tokens_details"] = {"thinking_tokens": u.reasoning}
    events = [
        event("message_start", message=_message(turn, message_id, final=False)),
        event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
        event("ping"),
        *(event("content_block_delta", index=0, delta={"type": "text_delta", "text": p}) for p in turn.pieces),
        event("content_block_stop", index=0),
        event("message_delta", delta={"stop_reason": "end_turn", "stop_sequence": None}, usage=final_usage),
        event("message_stop"),
    ]
    return StreamAnswer(events)


def count_tokens(req: Request, turn: Turn) -> Answer:
    return JsonAnswer({"input_tokens": turn.usage.input})


def error_body(status: int, message: str) -> dict[str, Any]:
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        408: "timeout_error",
        413: "request_too_large",
        429: "rate_limit_error",
        529: "overloaded_error",
    }.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": new_id("req_011", 12)}
