"""Exact cost of GenAI spans from the genai-prices catalogue (see ``Pricer.price``)."""

from __future__ import annotations

from ._cost import Cost, exact_text
from ._custom import (
    MAX_PATTERN_CHARS,
    CustomPrice,
    CustomPrices,
    TenantPriceCache,
    compile_custom,
    compile_model_pattern,
)
from ._pricer import CATALOGUE_VERSION, PriceQuote, Pricer, PriceTier, canonical_provider, price_attributes, quote

__all__ = [
    "CATALOGUE_VERSION",
    "Cost",
    "CustomPrice",
    "CustomPrices",
    "MAX_PATTERN_CHARS",
    "PriceQuote",
    "PriceTier",
    "Pricer",
    "TenantPriceCache",
    "canonical_provider",
    "compile_custom",
    "compile_model_pattern",
    "exact_text",
    "price_attributes",
    "quote",
]
