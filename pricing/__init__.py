"""Exact cost of GenAI spans from the genai-prices catalogue (see ``Pricer.price``)."""

from __future__ import annotations

from ._cost import Cost
from ._pricer import CATALOGUE_VERSION, PriceQuote, Pricer, PriceTier, quote

__all__ = ["CATALOGUE_VERSION", "Cost", "PriceQuote", "PriceTier", "Pricer", "quote"]
