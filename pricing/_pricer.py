"""``Pricer``: one span's GenAI record → its exact ``Cost``."""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from typing import Final

import genai_prices
from semconv._record import GenAIRecord

from ._catalogue import Catalogue
from ._cost import ZERO, Cost, charge, quantize, zero_cost

__all__ = ["CATALOGUE_VERSION", "Pricer"]

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

    def price(self, record: GenAIRecord, start_time_ns: int | None = None, failed: bool = False) -> Cost:
        """Cost of one span; ``start_time_ns`` picks historic prices (now when missing or 0)."""
        if not record.is_llm:
            return _NOT_LLM
        status = record.http_status
        if status == 429 or status >= 500 or (failed and not record.has_usage):
            return _FAILED
        if not record.has_usage:
            return _NO_USAGE
        schedule = self._catalogue.lookup(
            record.provider, record.response_model, record.request_model, record.is_batch, record.service_tier
        )
        if schedule is None:
            return _client_cost(record.client_cost)
        rates = schedule.rates_at(start_time_ns or time.time_ns())
        if not rates.prices_tokens:
            return _client_cost(record.client_cost)
        return charge(rates, record, CATALOGUE_VERSION)


def _client_cost(client: Decimal | None) -> Cost:
    if client is None or not client.is_finite() or client < 0:
        return _UNPRICED
    try:
        total = quantize(client)
    except InvalidOperation:  # too many digits to be a real cost
        return _UNPRICED
    return Cost(total, ZERO, ZERO, ZERO, ZERO, "client", True, True)
