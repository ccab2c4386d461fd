"""Usage, model and completion facts read from provider response bodies (JSON and SSE events).

All counts end up in OTel terms: input is cache-inclusive, output is reasoning-inclusive
(Anthropic's input excludes cache, so its cache counts are added back; Gemini's candidates
exclude thoughts, so thoughts are added).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from llmobserve.semconv import attributes as a

__all__ = ["UsageState"]

CACHE_WRITE_1H = a.LLMOBSERVE_USAGE_CACHE_WRITE_1H  # no OTel name yet for Anthropic's 1-hour writes
STREAM_INCOMPLETE = a.LLMOBSERVE_STREAM_INCOMPLETE


def _has(data: bytes, key: bytes, opener: bytes) -> bool:
    """Whether ``key`` appears with a value starting with ``opener`` (not null), whatever the spacing."""
    at = data.find(key)
    while at >= 0:
        rest = data[at + len(key) : at + len(key) + 8].lstrip(b": \t")
        if rest.startswith(opener):
            return True
        at = data.find(key, at + 1)
    return False


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(slots=True)
class UsageState:
    """What one call's response told us; fed by JSON bodies or SSE events, read at the end."""

    flavor: str
    endpoint: str
    capture_content: bool = False
    model: str = ""
    response_id: str = ""
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    reasoning: int = 0
    has_usage: bool = False
    finish_reasons: list[str] = field(default_factory=list)
    completed: bool = False  # the provider said the answer is complete
    text: list[str] = field(default_factory=list)

    # --- whole bodies -------------------------------------------------------------------
    def read_body(self, data: Any) -> None:
        if isinstance(data, list):  # Gemini streamGenerateContent without alt=sse: an array of chunks
            for item in data:
                if isinstance(item, dict):
                    self._gemini(item)
            self.completed = True
            return
        if not isinstance(data, dict):
            return
        self.completed = True
        if self.flavor == "anthropic":
            self._anthropic_message(data)
        elif self.flavor == "gemini":
            self._gemini(data)
        elif self.flavor == "cohere":
            self._cohere(data)
        elif self.endpoint == "responses":
            self._responses(data)
        else:
            self._openai(data)

    # --- streams --------------------------------------------------------------------------
    def wants_event(self, event: str, data: bytes) -> bool:
        """Whether an SSE event can carry something we need (parsing every delta would cost)."""
        if self.capture_content:
            return True
        if self.flavor == "openai":
            if self.endpoint == "responses":
                return event.startswith("response.") and not event.startswith("response.output")
            # the usage chunk (or, without include_usage, the finish chunk) also names the model
            return _has(data, b'"usage"', b"{") or _has(data, b'"finish_reason"', b'"')
        if self.flavor == "anthropic":
            return event in ("message_start", "message_delta", "message_stop")
        if self.flavor == "cohere":
            return event in ("message-start", "message-end")
        return True  # gemini: every chunk carries usageMetadata, the last one counts

    def read_event(self, event: str, data: bytes) -> None:
        if data == b"[DONE]":
            self.completed = True
            return
        try:
            payload = json.loads(data)
        except ValueError:
            return
        if not isinstance(payload, dict):
            return
        if self.flavor == "anthropic":
            self._anthropic_event(event or str(payload.get("type", "")), payload)
        elif self.flavor == "gemini":
            self._gemini(payload)
        elif self.flavor == "cohere":
            self._cohere_event(event or str(payload.get("type", "")), payload)
        elif self.endpoint == "responses":
            kind = event or str(payload.get("type", ""))
            if kind in ("response.completed", "response.incomplete", "response.failed", "response.created"):
                self._responses(payload.get("response") or {})
                self.completed = kind != "response.created"
            elif self.capture_content and kind == "response.output_text.delta":
                self.text.append(str(payload.get("delta", "")))
        else:
            self._openai_chunk(payload)

    # --- per provider -----------------------------------------------------------------------
    def _openai(self, data: dict[str, Any]) -> None:
        self.model = str(data.get("model") or self.model)
        self.response_id = str(data.get("id") or self.response_id)
        usage = data.get("usage")
        if isinstance(usage, dict):
            self.has_usage = True
            self.input = _int(usage.get("prompt_tokens"))
            self.output = _int(usage.get("completion_tokens"))
            self.cache_read = _int((usage.get("prompt_tokens_details") or {}).get("cached_tokens"))
            self.reasoning = _int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens"))
        for choice in data.get("choices") or ():
            if isinstance(choice, dict):
                if choice.get("finish_reason"):
                    self.finish_reasons.append(str(choice["finish_reason"]))
                if self.capture_content:
                    message = choice.get("message") or {}
                    if isinstance(message, dict) and message.get("content"):
                        self.text.append(str(message["content"]))

    def _openai_chunk(self, data: dict[str, Any]) -> None:
        self.model = str(data.get("model") or self.model)
        self.response_id = str(data.get("id") or self.response_id)
        usage = data.get("usage")
        if isinstance(usage, dict):
            self._openai({"usage": usage})
        for choice in data.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            if choice.get("finish_reason"):
                self.finish_reasons.append(str(choice["finish_reason"]))
                self.completed = True
            if self.capture_content:
                delta = choice.get("delta") or {}
                if isinstance(delta, dict) and delta.get("content"):
                    self.text.append(str(delta["content"]))

    def _responses(self, data: dict[str, Any]) -> None:
        self.model = str(data.get("model") or self.model)
        self.response_id = str(data.get("id") or self.response_id)
        usage = data.get("usage")
        if isinstance(usage, dict):
            self.has_usage = True
            self.input = _int(usage.get("input_tokens"))
            self.output = _int(usage.get("output_tokens"))
            self.cache_read = _int((usage.get("input_tokens_details") or {}).get("cached_tokens"))
            self.reasoning = _int((usage.get("output_tokens_details") or {}).get("reasoning_tokens"))
        if data.get("status"):
            self.finish_reasons = [str(data["status"])]
        if self.capture_content and not self.text:
            for item in data.get("output") or ():
                for part in (item.get("content") or ()) if isinstance(item, dict) else ():
                    if isinstance(part, dict) and part.get("text"):
                        self.text.append(str(part["text"]))

    def _anthropic_usage(self, usage: dict[str, Any], output_only: bool = False) -> None:
        self.has_usage = True
        if "output_tokens" in usage:
            self.output = _int(usage.get("output_tokens"))  # cumulative in message_delta: last wins
        if output_only and "input_tokens" not in usage:
            return
        uncached = _int(usage.get("input_tokens"))
        self.cache_read = _int(usage.get("cache_read_input_tokens")) or self.cache_read
        split = usage.get("cache_creation")
        write = _int(usage.get("cache_creation_input_tokens"))
        if isinstance(split, dict):
            self.cache_write_1h = _int(split.get("ephemeral_1h_input_tokens"))
            write = write or _int(split.get("ephemeral_5m_input_tokens")) + self.cache_write_1h
        self.cache_write = write or self.cache_write
        if uncached or write or self.cache_read:
            self.input = uncached + self.cache_read + self.cache_write

    def _anthropic_message(self, data: dict[str, Any]) -> None:
        self.model = str(data.get("model") or self.model)
        self.response_id = str(data.get("id") or self.response_id)
        if isinstance(data.get("usage"), dict):
            self._anthropic_usage(data["usage"])
        if data.get("stop_reason"):
            self.finish_reasons = [str(data["stop_reason"])]
        if self.capture_content:
            for block in data.get("content") or ():
                if isinstance(block, dict) and block.get("text"):
                    self.text.append(str(block["text"]))

    def _anthropic_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "message_start":
            self._anthropic_message(data.get("message") or {})
        elif kind == "message_delta":
            if isinstance(data.get("usage"), dict):
                self._anthropic_usage(data["usage"], output_only=True)
            stop = (data.get("delta") or {}).get("stop_reason")
            if stop:
                self.finish_reasons = [str(stop)]
        elif kind == "message_stop":
            self.completed = True
        elif kind == "content_block_delta" and self.capture_content:
            text = (data.get("delta") or {}).get("text")
            if text:
                self.text.append(str(text))

    def _gemini(self, data: dict[str, Any]) -> None:
        self.model = str(data.get("modelVersion") or self.model)
        self.response_id = str(data.get("responseId") or self.response_id)
        meta = data.get("usageMetadata")
        if isinstance(meta, dict):
            self.has_usage = True
            thoughts = _int(meta.get("thoughtsTokenCount"))
            self.input = _int(meta.get("promptTokenCount")) + _int(meta.get("toolUsePromptTokenCount"))
            self.output = _int(meta.get("candidatesTokenCount")) + thoughts
            self.reasoning = thoughts
            self.cache_read = _int(meta.get("cachedContentTokenCount"))
        for candidate in data.get("candidates") or ():
            if not isinstance(candidate, dict):
                continue
            if candidate.get("finishReason"):
                self.finish_reasons = [str(candidate["finishReason"])]
                self.completed = True
            if self.capture_content:
                for part in (candidate.get("content") or {}).get("parts") or ():
                    if isinstance(part, dict) and part.get("text"):
                        self.text.append(str(part["text"]))

    def _cohere_usage(self, usage: dict[str, Any]) -> None:
        billed = usage.get("billed_units") or usage.get("tokens") or {}
        if isinstance(billed, dict):
            self.has_usage = True
            self.input = _int(billed.get("input_tokens"))
            self.output = _int(billed.get("output_tokens"))

    def _cohere(self, data: dict[str, Any]) -> None:
        self.response_id = str(data.get("id") or self.response_id)
        if isinstance(data.get("usage"), dict):
            self._cohere_usage(data["usage"])
        elif isinstance(data.get("meta"), dict) and isinstance(data["meta"].get("billed_units"), dict):
            self._cohere_usage(data["meta"])  # v2/embed reports under meta
        if data.get("finish_reason"):
            self.finish_reasons = [str(data["finish_reason"])]
        if self.capture_content:
            for part in (data.get("message") or {}).get("content") or ():
                if isinstance(part, dict) and part.get("text"):
                    self.text.append(str(part["text"]))

    def _cohere_event(self, kind: str, data: dict[str, Any]) -> None:
        delta = data.get("delta") or {}
        if kind == "message-start":
            self.response_id = str(data.get("id") or self.response_id)
        elif kind == "message-end":
            self.completed = True
            if isinstance(delta.get("usage"), dict):
                self._cohere_usage(delta["usage"])
            if delta.get("finish_reason"):
                self.finish_reasons = [str(delta["finish_reason"])]
        elif kind == "content-delta" and self.capture_content:
            text = ((delta.get("message") or {}).get("content") or {}).get("text")
            if text:
                self.text.append(str(text))

    # --- output ----------------------------------------------------------------------------
    def attributes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.model:
            out[a.GEN_AI_RESPONSE_MODEL] = self.model
        if self.response_id:
            out[a.GEN_AI_RESPONSE_ID] = self.response_id
        if self.finish_reasons:
            out["gen_ai.response.finish_reasons"] = list(dict.fromkeys(self.finish_reasons))
        if self.has_usage:
            out[a.GEN_AI_USAGE_INPUT_TOKENS] = self.input
            out[a.GEN_AI_USAGE_OUTPUT_TOKENS] = self.output
            if self.cache_read:
                out[a.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = self.cache_read
            if self.cache_write:
                out[a.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = self.cache_write
            if self.cache_write_1h:
                out[CACHE_WRITE_1H] = self.cache_write_1h
            if self.reasoning:
                out[a.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = self.reasoning
        if self.capture_content and self.text:
            out["gen_ai.output.messages"] = json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "".join(self.text)}]}]
            )
        return out
