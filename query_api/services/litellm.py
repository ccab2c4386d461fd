"""LiteLLM's price JSON (``model_prices_and_context_window.json`` and custom files in its format)
→ custom prices. Per-token USD costs become per-million prices; entries without token prices
(images, audio seconds, ...) are skipped and reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from llmobserve.control import StoredPrice, price_id
from llmobserve.pricing import canonical_provider

__all__ = ["parse_litellm", "LiteLLMImport"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MTOK = Decimal(1_000_000)
# LiteLLM provider names that differ from OTel's
_PROVIDERS = {
    "vertex_ai-language-models": "gcp.vertex_ai",
    "vertex_ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "azure": "azure.ai.openai",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "text-completion-openai": "openai",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "xai": "x_ai",
    "mistral": "mistral_ai",
    "cohere_chat": "cohere",
}


class LiteLLMImport:
    def __init__(self) -> None:
        self.prices: list[StoredPrice] = []
        self.skipped: list[str] = []


def _per_mtok(entry: dict[str, Any], key: str) -> Decimal | None:
    value = entry.get(key)
    if value is None or isinstance(value, bool):
        return None
    try:
        return (Decimal(str(value)) * _MTOK).normalize()
    except InvalidOperation:
        return None


def parse_litellm(text: str, source: str) -> LiteLLMImport:
    """Raises ValueError for a file that is not a LiteLLM price map."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{source}: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected an object mapping model names to prices")
    result = LiteLLMImport()
    now = datetime.now(UTC)
    for name, entry in data.items():
        if name == "sample_spec" or not isinstance(entry, dict):
            continue
        inp, out = _per_mtok(entry, "input_cost_per_token"), _per_mtok(entry, "output_cost_per_token")
        if inp is None or out is None:
            result.skipped.append(name)
            continue
        raw_provider = str(entry.get("litellm_provider") or "")
        provider = _PROVIDERS.get(raw_provider, canonical_provider(raw_provider)) if raw_provider else ""
        model = name.split("/", 1)[1] if "/" in name and raw_provider and name.startswith(raw_provider + "/") else name
        result.prices.append(
            StoredPrice(
                price_id(provider, model, False, _EPOCH),
                provider,
                model,
                False,
                _EPOCH,
                inp,
                out,
                _per_mtok(entry, "cache_read_input_token_cost"),
                _per_mtok(entry, "cache_creation_input_token_cost"),
                _per_mtok(entry, "output_cost_per_reasoning_token"),
                f"litellm:{source}",
                now,
            )
        )
    return result
