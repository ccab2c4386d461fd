"""Prices as data: ``Pricer`` resolves each distinct (provider, models, batch, service tier, minute)
of a batch once into a row that SQL joins, so ClickHouse can price every span exactly as
``Pricer.price`` does (``storage``'s ``COST_COLUMNS`` is the arithmetic of ``charge``).

A price may change inside a minute (a price's start, a custom price's ``effective_from``, an
off-peak window at :30). A minute whose start and last nanosecond resolve differently is marked
``split``; its spans are then resolved at their own instant (``PriceKey.at_ns`` is the span's start,
``exact`` True), so the answer stays exact without resolving every span.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ._cost import Rates
from ._custom import CustomPrices
from ._pricer import CATALOGUE_VERSION, Pricer

__all__ = ["MINUTE_NS", "PriceKey", "PriceRow", "resolve_rows"]

MINUTE_NS = 60 * 10**9


@dataclass(frozen=True, slots=True)
class PriceKey:
    provider: str
    response_model: str
    request_model: str
    is_batch: bool
    service_tier: str
    at_ns: int  # the minute's start, or the span's own start when ``exact``
    exact: bool = False


@dataclass(frozen=True, slots=True)
class PriceRow:
    key: PriceKey
    split: bool  # the minute holds a price change: resolve its spans one instant at a time
    source: str  # "" when the catalogue has no token price (then a client-supplied cost, or unpriced)
    thresholds: tuple[int, ...]
    brackets: tuple[tuple[Decimal, ...], ...]  # per bracket: input, cache read, write, write 1h, output, reasoning, fee


def _resolve(pricer: Pricer, custom: CustomPrices | None, key: PriceKey, ts_ns: int) -> tuple[Rates | None, str]:
    # The order of Pricer.price: the tenant's custom price, then the catalogue, else none.
    if custom:
        found = custom.match(key.provider, (key.response_model, key.request_model), ts_ns)
        if found is not None:
            return found[1], f"custom:{found[0].id}"
    schedule = pricer._catalogue.lookup(key.provider, key.response_model, key.request_model, key.is_batch,
                                        key.service_tier)
    if schedule is None:
        return None, ""
    rates = schedule.rates_at(ts_ns)
    return (rates, CATALOGUE_VERSION) if rates.prices_tokens else (None, "")


def resolve_rows(pricer: Pricer, custom: CustomPrices | None, keys: list[PriceKey]) -> list[PriceRow]:
    """One row per key. A minute key whose minute holds a price change comes back ``split`` (its
    spans need exact keys); an exact key resolves at its instant."""
    rows = []
    for key in keys:
        rates, source = _resolve(pricer, custom, key, key.at_ns)
        split = False
        if not key.exact:
            last, last_source = _resolve(pricer, custom, key, key.at_ns + MINUTE_NS - 1)
            split = last is not rates or last_source != source
        rows.append(PriceRow(key, split, source, rates.thresholds if rates else (),
                             rates.brackets if rates else ()))
    return rows
