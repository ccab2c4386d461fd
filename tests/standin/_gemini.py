"""Gemini ``generateContent`` / ``streamGenerateContent`` bodies (``promptTokenCount`` includes cached tokens)."""

from __future__ import annotations

from typing import Any

from tests.standin._common import Answer, JsonAnswer, Request, StreamAnswer, Turn, Usage, dumps, new_id, sse


def usage_metadata(u: Usage, *, candidates: int | None = None) -> dict[str, Any]:
    visible = u.visible_output if candidates is None else candidates
    meta: dict[str, Any] = {
        "promptTokenCount": u.input,
        "candidatesTokenCount": visible,
        "totalTokenCount": u.input + visible + u.reasoning,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": u.input}],
    }
    if u.cache_read:  # Gemini omits zero counts
        meta["cachedContentTokenCount"] = u.cache_read
        meta["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": u.cache_read}]
    if u.reasoning:
        meta["thoughtsTokenCount"] = u.reasoning
    return meta


def _chunk(turn: Turn, response_id: str, text: str, *, last: bool, candidates: int | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    if last:
        candidate["finishReason"] = "STOP"
    return {
        "candidates": [candidate],
        "usageMetadata": usage_metadata(turn.usage, candidates=candidates),
        "modelVersion": turn.model,
        "responseId": response_id,
    }


def generate_content(req: Request, turn: Turn) -> Answer:
    return JsonAnswer(_chunk(turn, new_id("", 11), turn.text, last=True, candidates=None))


def stream_generate_content(req: Request, turn: Turn) -> Answer:
    """Every chunk carries usageMetadata; candidatesTokenCount grows and is final on the last chunk."""
    response_id = new_id("", 11)
    pieces = turn.pieces
    visible = turn.usage.visible_output
    chunks = [
        _chunk(
            turn,
            response_id,
            piece,
            last=i == len(pieces) - 1,
            candidates=None if i == len(pieces) - 1 else visible * (i + 1) // len(pieces),
        )
        for i, piece in enumerate(pieces)
    ]
    if req.query.get("alt") == "sse":
        return StreamAnswer([sse(c, eol="\r\n") for c in chunks])
    # Without alt=sse: one JSON array, streamed element by element.
    parts = [("[" if i == 0 else ",\r\n") + dumps(c) for i, c in enumerate(chunks)] + ["]"]
    return StreamAnswer([p.encode() for p in parts], content_type="application/json; charset=UTF-8")


def error_body(status: int, message: str) -> dict[str, Any]:
    code_status = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }.get(status, "UNKNOWN")
    return {"error": {"code": status, "message": message, "status": code_status}}
