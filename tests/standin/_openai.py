"""OpenAI-format bodies: Chat Completions (and OpenAI-compatible hosts), Responses, Embeddings."""

from __future__ import annotations

import base64
import struct
from typing import Any

from tests.standin._common import Answer, JsonAnswer, Request, StreamAnswer, Turn, Usage, new_id, now, sse

FINGERPRINT = "fp_standin01"


# --------------------------------------------------------------------------------------- chat completions


def chat_usage(u: Usage) -> dict[str, Any]:
    prompt_details: dict[str, Any] = {"cached_tokens": u.cache_read, "audio_tokens": 0}
    if u.cache_write_total:
        prompt_details["cache_write_tokens"] = u.cache_write_total
    return {
        "prompt_tokens": u.input,
        "completion_tokens": u.output,
        "total_tokens": u.input + u.output,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {
            "reasoning_tokens": u.reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _groq_usage(u: Usage) -> dict[str, Any]:
    return {
        "queue_time": 0.01,
        "prompt_tokens": u.input,
        "prompt_time": 0.001,
        "completion_tokens": u.output,
        "completion_time": 0.02,
        "total_tokens": u.input + u.output,
        "total_time": 0.021,
    }


def chat_completions(req: Request, turn: Turn) -> Answer:
    completion_id = new_id("chatcmpl-")
    created = now()
    if not req.stream:
        return JsonAnswer(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": turn.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": turn.text, "refusal": None, "annotations": []},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": chat_usage(turn.usage),
                "service_tier": "default",
                "system_fingerprint": FINGERPRINT,
            }
        )

    stream_options = req.body.get("stream_options")
    include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True
    flavour = req.prefix
    if flavour == "mistral":
        include_usage = False  # Mistral ignores stream_options: usage always rides on the finish chunk

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": turn.model,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
            "choices": choices,
        }
        if include_usage:
            body["usage"] = None  # OpenAI: every chunk carries "usage": null when include_usage is on
        body.update(extra)
        return sse(body)

    def choice(delta: dict[str, Any], finish_reason: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]

    events = [chunk(choice({"role": "assistant", "content": "", "refusal": None}))]
    events += [chunk(choice({"content": piece})) for piece in turn.pieces]
    finish_extra: dict[str, Any] = {}
    if flavour == "mistral":
        finish_extra["usage"] = {
            "prompt_tokens": turn.usage.input,
            "completion_tokens": turn.usage.output,
            "total_tokens": turn.usage.input + turn.usage.output,
        }
    elif flavour == "groq":
        finish_extra["x_groq"] = {"id": new_id("req_"), "usage": _groq_usage(turn.usage)}
    events.append(chunk(choice({}, "stop"), **finish_extra))
    if include_usage:
        events.append(chunk([], usage=chat_usage(turn.usage)))
    events.append(sse("[DONE]"))
    return StreamAnswer(events)


# --------------------------------------------------------------------------------------- responses


def response_usage(u: Usage) -> dict[str, Any]:
    return {
        "input_tokens": u.input,
        "input_tokens_details": {"cached_tokens": u.cache_read, "cache_write_tokens": u.cache_write_total},
        "output_tokens": u.output,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": u.input + u.output,
    }


def _output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _message_item(item_id: str, text: str | None) -> dict[str, Any]:
    """The assistant message output item; ``text=None`` is the in-progress shell sent before deltas."""
    return {
        "id": item_id,
        "type": "message",
        "status": "in_progress" if text is None else "completed",
        "content": [] if text is None else [_output_text(text)],
        "role": "assistant",
    }


def _response_object(
    req: Request, turn: Turn, response_id: str, created: int, output: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """The Response object; ``output=None`` gives the in-progress snapshot of response.created."""
    body = req.body
    done = output is not None
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": "completed" if done else "in_progress",
        "background": False,
        "completed_at": now() if done else None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": None,
        "model": turn.model,
        "output": output if done else [],
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": None,
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None,
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": response_usage(turn.usage) if done else None,
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def responses(req: Request, turn: Turn) -> Answer:
    response_id = new_id("resp_", 24)
    message_id = new_id("msg_", 24)
    reasoning_item = {"id": new_id("rs_", 24), "type": "reasoning", "summary": []} if turn.usage.reasoning else None
    created = now()
    final_output = ([reasoning_item] if reasoning_item else []) + [_message_item(message_id, turn.text)]
    final = _response_object(req, turn, response_id, created, final_output)
    if not req.stream:
        return JsonAnswer(final)

    events: list[bytes] = []

    def emit(event_type: str, **fields: Any) -> None:
        events.append(sse({"type": event_type, "sequence_number": len(events), **fields}, event=event_type))

    in_progress = _response_object(req, turn, response_id, created, None)
    emit("response.created", response=in_progress)
    emit("response.in_progress", response=in_progress)
    index = 0
    if reasoning_item:
        emit("response.output_item.added", output_index=index, item=reasoning_item)
        emit("response.output_item.done", output_index=index, item=reasoning_item)
        index += 1
    where = {"item_id": message_id, "output_index": index, "content_index": 0}
    emit("response.output_item.added", output_index=index, item=_message_item(message_id, None))
    emit("response.content_part.added", **where, part=_output_text(""))
    for piece in turn.pieces:
        emit("response.output_text.delta", **where, delta=piece, logprobs=[])
    emit("response.output_text.done", **where, text=turn.text, logprobs=[])
    emit("response.content_part.done", **where, part=_output_text(turn.text))
    emit("response.output_item.done", output_index=index, item=_message_item(message_id, turn.text))
    emit("response.completed", response=final)
    return StreamAnswer(events)


# --------------------------------------------------------------------------------------- embeddings

EMBEDDING_DIMENSIONS = 8


def _inputs(value: Any) -> int:
    """How many embeddings an ``input`` asks for: a string or token list is one, a list of those is many."""
    if isinstance(value, list) and value and not all(isinstance(v, int) for v in value):
        return len(value)
    return 1


def _vector(index: int, dimensions: int) -> list[float]:
    return [round(((index + 1) * (d + 1) % 17) / 17.0 - 0.5, 6) for d in range(dimensions)]


def embeddings(req: Request, turn: Turn) -> Answer:
    dimensions = req.body.get("dimensions")
    dims = dimensions if isinstance(dimensions, int) and dimensions > 0 else EMBEDDING_DIMENSIONS
    as_base64 = req.body.get("encoding_format") == "base64"
    data = []
    for i in range(_inputs(req.body.get("input"))):
        vector = _vector(i, dims)
        encoded: list[float] | str = (
            base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode() if as_base64 else vector
        )
        data.append({"object": "embedding", "index": i, "embedding": encoded})
    return JsonAnswer(
        {
            "object": "list",
            "data": data,
            "model": turn.model,
            "usage": {"prompt_tokens": turn.usage.input, "total_tokens": turn.usage.input},
        }
    )


def error_body(status: int, message: str) -> dict[str, Any]:
    kind, code = {
        400: ("invalid_request_error", None),
        401: ("invalid_request_error", "invalid_api_key"),
        403: ("invalid_request_error", "unsupported_country_region_territory"),
        404: ("invalid_request_error", "unknown_url"),
        408: ("timeout", None),
        429: ("requests", "rate_limit_exceeded"),
        503: ("server_error", "service_unavailable"),
    }.get(status, ("server_error", None) if status >= 500 else ("invalid_request_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
