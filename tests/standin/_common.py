"""Shared pieces of the stand-in provider: usage knobs, request/answer types, SSE framing."""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Usage:
    """What the next responses report, in OTel terms (each provider's body is derived from it)."""

    input: int = 100  # cache-INCLUSIVE input tokens
    output: int = 20  # reasoning-inclusive output tokens
    cache_read: int = 0
    cache_write: int = 0  # cache creation, 5-minute TTL (Anthropic)
    cache_write_1h: int = 0  # cache creation, 1-hour TTL (Anthropic)
    reasoning: int = 0

    @property
    def cache_write_total(self) -> int:
        return self.cache_write + self.cache_write_1h

    @property
    def uncached_input(self) -> int:
        """Input tokens that were neither read from nor written to a cache (Anthropic's ``input_tokens``)."""
        return max(0, self.input - self.cache_read - self.cache_write_total)

    @property
    def visible_output(self) -> int:
        """Output tokens without reasoning (Gemini's ``candidatesTokenCount``)."""
        return max(0, self.output - self.reasoning)


@dataclass(frozen=True)
class Request:
    """One request as received (also what ``StandInProvider.requests`` logs, via ``as_log``)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    json: Any
    connection: int  # client port: equal for requests sent over the same keep-alive connection
    raw: bytes = b""  # the body as sent (multipart file uploads are not JSON)

    @property
    def body(self) -> dict[str, Any]:
        return self.json if isinstance(self.json, dict) else {}

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True

    @property
    def prefix(self) -> str:
        """First path segment ("openai", "groq", "mistral", ...): selects provider quirks."""
        return self.path.lstrip("/").split("/", 1)[0]

    def as_log(self, route: str) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "headers": dict(self.headers),
            "json": self.json,
            "route": route,
            "connection": self.connection,
        }


@dataclass(frozen=True)
class Turn:
    """What one request is answered with: a snapshot of the provider's knobs at request time."""

    model: str
    text: str
    usage: Usage

    @property
    def pieces(self) -> list[str]:
        """The text split into word-sized deltas for streaming (always at least one)."""
        return re.findall(r"\S+\s*|\s+", self.text) or [""]


@dataclass
class JsonAnswer:
    body: Any  # bytes are sent as they are (file contents), with the Content-Type in ``headers``
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StreamAnswer:
    """A 200 streaming answer: each item of ``events`` is written (and flushed) as one piece."""

    events: list[bytes]
    content_type: str = "text/event-stream; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


Answer = JsonAnswer | StreamAnswer


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def sse(data: Any, *, event: str | None = None, eol: str = "\n") -> bytes:
    """One Server-Sent Event: optional ``event:`` line, one ``data:`` line, blank line."""
    payload = data if isinstance(data, str) else dumps(data)
    lines = ([f"event: {event}"] if event else []) + [f"data: {payload}"]
    return (eol.join(lines) + eol + eol).encode()


# Set by StandInProvider.deterministic: fixed ids and timestamps, so that two calls answer
# byte-identical bodies (tests compare what an app receives with and without instrumentation).
DETERMINISTIC = {"on": False}


def new_id(prefix: str, nbytes: int = 12) -> str:
    return prefix + ("0" * (2 * nbytes) if DETERMINISTIC["on"] else secrets.token_hex(nbytes))


def now() -> int:
    return 1_767_225_600 if DETERMINISTIC["on"] else int(time.time())
