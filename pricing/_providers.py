"""OTel ``gen_ai.provider.name`` values → genai-prices provider ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from genai_prices.data_snapshot import find_provider_by_id
from genai_prices.types import Provider

__all__ = ["OTEL_TO_GENAI_PRICES", "find_provider"]

# Only names whose genai-prices id differs, or whose fuzzy match in genai-prices would be wrong
# (e.g. "azure.ai.openai" contains "openai" and would price Azure calls as OpenAI's own).
# Absent on purpose: ibm.watsonx.ai and ollama, which genai-prices has no catalogue for.
OTEL_TO_GENAI_PRICES: Final[dict[str, str]] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "aws.bedrock": "aws",
    "mistral_ai": "mistral",
    "x_ai": "x-ai",
    "deepseek": "deepseek",
    "groq": "groq",
    "cohere": "cohere",
    "perplexity": "perplexity",
    "moonshot_ai": "moonshotai",
    "together": "together",
    "together_ai": "together",
    "fireworks": "fireworks",
    "fireworks_ai": "fireworks",
    "openrouter": "openrouter",
    # Deprecated `gen_ai.system` spellings, in case a record skipped semconv's normalisation.
    "xai": "x-ai",
    "vertex_ai": "google",
    "gemini": "google",
    "az.ai.openai": "azure",
    "az.ai.inference": "azure",
}


def find_provider(name: str, providers: Sequence[Provider]) -> Provider | None:
    """The genai-prices provider for an OTel provider name, or None when it has no catalogue."""
    low = name.strip().lower()
    if not low:
        return None
    wanted = OTEL_TO_GENAI_PRICES.get(low)
    if wanted is not None:
        return next((p for p in providers if p.id == wanted), None)
    # Third-party names that are genai-prices ids already (cerebras, novita, ...) or that its own
    # provider_match recognises.
    return find_provider_by_id(list(providers), low)
