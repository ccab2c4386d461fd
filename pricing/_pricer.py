"""``Pricer``: one span's GenAI record → its exact ``Cost``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

import genai_prices

from llmobserve.semconv import normalize, normalize_provider
from llmobserve.semconv._record import GenAIRecord

from ._catalogue import Catalogue
from ._cost import ZERO, Cost, charge, quantize, zero_cost
from ._custom import CustomPrices

__all__ = ["CATALOGUE_VERSION", "PriceQuote", "PriceTier", "Pricer", "canonical_provider", "price_attributes", "quote"]

CATALOGUE_VERSION: Final = f"genai-prices {genai_prices.__version__}"

# Costs are frozen, so the outcomes without numbers are shared instances.
_NOT_LLM: Final = zero_cost("", priced=True, billable=False)
_FAILED: Final = zero_cost("failed", priced=True, billable=False)
_NO_USAGE: Final = zero_cost("no-usage", priced=False, billable=True)
_UNPRICED: Final = zero_cost("", priced=False, billable=True)


class Pricer:
    """Prices records against genai-prices' bundled catalogue; one instance is shared by all threads."""

    __slots__ = ("_catalogue",)

    def __init__(self, *, max_entries: int = 4096) -> None:
        # The bundled data, not genai_prices.data_snapshot.get_snapshot(): an auto-updated snapshot
        # would not be the catalogue CATALOGUE_VERSION names.
        from genai_prices.data import providers

        self._catalogue = Catalogue(providers, max_entries)

    def price(
        self,
        record: GenAIRecord,
        start_time_ns: int | None = None,
        failed: bool = False,
        custom: CustomPrices | None = None,
    ) -> Cost:
        """Cost of one span; ``start_time_ns`` picks historic prices (now when missing or 0);
        the tenant's ``custom`` prices win over the catalogue."""
        if not record.is_llm:
            return _NOT_LLM
        status = record.http_status
        if status == 429 or status >= 500 or (failed and not record.has_usage):
            return _FAILED
        if not record.has_usage:
            return _NO_USAGE
        if custom:
            found = custom.match(
                record.provider, (record.response_model, record.request_model), start_time_ns or time.time_ns()
            )
            if found is not None:
                return charge(found[1], record, f"custom:{found[0].id}")
        schedule = self._catalogue.lookup(
            record.provider, record.response_model, record.request_model, record.is_batch, record.service_tier
        )
        if schedule is None:
            return _client_cost(record.client_cost)
        rates = schedule.rates_at(start_time_ns or time.time_ns())
        if not rates.prices_tokens:
            return _client_cost(record.client_cost)
        return charge(rates, record, CATALOGUE_VERSION)


def price_attributes(
    pricer: Pricer,
    attributes: dict[str, object],
    start_time_ns: int | None = None,
    failed: bool = False,
    custom: CustomPrices | None = None,
) -> Cost:
    """Price a span from its stored attributes (any convention), as the receiver did at ingest."""
    return pricer.price(normalize(attributes), start_time_ns, failed, custom)


def canonical_provider(name: str) -> str:
    """The OTel provider name for any known spelling (``xai`` → ``x_ai``, ``mistral`` → ``mistral_ai``)."""
    return normalize_provider(name)


def _client_cost(client: Decimal | None) -> Cost:
    if client is None or not client.is_finite() or client < 0:
        return _UNPRICED
    try:
        total = quantize(client)
    except InvalidOperation:  # too many digits to be a real cost
        return _UNPRICED
    return Cost(total, ZERO, ZERO, ZERO, ZERO, "client", True, True)


_PER_MTOK = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class PriceTier:
    """USD per million tokens from ``above_input_tokens`` on (long-context tiers)."""

    above_input_tokens: int
    input: Decimal
    cache_read: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal
    output: Decimal
    reasoning: Decimal
    per_request: Decimal  # USD per request (a flat fee, e.g. Perplexity)


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """What ``Pricer`` would charge for one (provider, model, time, context)."""

    provider_id: str
    model_id: str
    source: str
    tiers: tuple[PriceTier, ...]


def quote(
    pricer: Pricer, provider: str, model: str, at_ns: int | None = None, batch: bool = False, service_tier: str = ""
) -> PriceQuote | None:
    """The resolved price, or None when the catalogue does not know the model."""
    schedule = pricer._catalogue.lookup(provider, model, "", batch, service_tier)
    if schedule is None:
        return None
    rates = schedule.rates_at(at_ns or time.time_ns())
    starts = (0, *rates.thresholds)
    tiers = tuple(
        PriceTier(start, *(bracket[i] * _PER_MTOK for i in range(6)), per_request=bracket[6])  # type: ignore[misc]  # a Bracket has exactly six per-token rates
        for start, bracket in zip(starts, rates.brackets)
    )
    return PriceQuote(schedule.provider_id, schedule.model_id, CATALOGUE_VERSION, tiers)
