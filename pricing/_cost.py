"""The ``Cost`` value and the exact Decimal arithmetic behind it."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from genai_prices.types import TieredPrices

from llmobserve.semconv._record import GenAIRecord

__all__ = ["Cost", "Rates", "ZERO", "charge", "compile_rates", "exact_text", "quantize", "zero_cost"]

ZERO: Final = Decimal("0E-12")  # zero with the same 12 places as every other amount
# Every amount carries exactly 12 places, so a stored total still equals the sum of its stored parts.
_PLACES: Final = Decimal("1e-12")

# genai-prices price keys we have counts for, and the count each one is "per".
_PER: Final[dict[str, int]] = {
    "input_mtok": 1_000_000,
    "cache_read_mtok": 1_000_000,
    "cache_write_mtok": 1_000_000,
    "cache_write_1h_mtok": 1_000_000,
    "output_mtok": 1_000_000,
    "output_reasoning_mtok": 1_000_000,
    "requests_kcount": 1_000,
}

# Per-token rates for one input-size bracket: input, cache_read, cache_write, cache_write_1h,
# output, reasoning, and the flat fee per request.
Bracket = tuple[Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class Cost:
    """USD cost of one span; ``input`` is the uncached input, ``output`` includes reasoning."""

    total: Decimal
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    source: str
    priced: bool
    billable: bool


def zero_cost(source: str, *, priced: bool, billable: bool) -> Cost:
    return Cost(ZERO, ZERO, ZERO, ZERO, ZERO, source, priced, billable)


def quantize(value: Decimal) -> Decimal:
    return value.quantize(_PLACES, rounding=ROUND_HALF_EVEN)


class Rates:
    """One model's prices for one period, as per-token Decimals ready to multiply."""

    __slots__ = ("brackets", "thresholds", "prices_tokens")

    def __init__(self, thresholds: tuple[int, ...], brackets: tuple[Bracket, ...], prices_tokens: bool = True) -> None:
        self.thresholds = thresholds  # sorted tier starts; a bracket applies above its start
        self.brackets = brackets
        # False for models the catalogue prices per hour, page or image only: their token usage
        # has no price, and $0 would hide that (DESIGN decision 7), so such spans stay unpriced.
        self.prices_tokens = prices_tokens


def _rate_at(value: Decimal | TieredPrices | None, key: str, input_tokens: int) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, TieredPrices):
        price = value.base
        # genai-prices' "cliff" tiers: crossing a start re-prices every token of the unit.
        for tier in value.tiers:
            if input_tokens > tier.start:
                price = tier.price
        return price / _PER[key]
    return value / _PER[key]


def compile_rates(prices: Mapping[str, Decimal | TieredPrices | None]) -> Rates:
    """Rates from a genai-prices price mapping (``ModelPrice.__dict__`` after variants)."""
    starts = {tier.start for key in _PER if isinstance(value := prices.get(key), TieredPrices) for tier in value.tiers}
    thresholds = tuple(sorted(starts))
    brackets: list[Bracket] = []
    for index in range(len(thresholds) + 1):
        sample = 0 if index == 0 else thresholds[index - 1] + 1

        def rate(key: str) -> Decimal | None:
            return _rate_at(prices.get(key), key, sample)  # noqa: B023 - called inside this iteration

        # A token type without its own price falls into its parent's price (genai-prices' leaf rule):
        # cache tokens at the input rate, 1h writes at the write rate, reasoning at the output rate.
        r_in = rate("input_mtok") or ZERO
        r_read = rate("cache_read_mtok")
        r_write = rate("cache_write_mtok")
        r_write = r_in if r_write is None else r_write
        r_write_1h = rate("cache_write_1h_mtok")
        r_out = rate("output_mtok") or ZERO
        r_reason = rate("output_reasoning_mtok")
        brackets.append(
            (
                r_in,
                r_in if r_read is None else r_read,
                r_write,
                r_write if r_write_1h is None else r_write_1h,
                r_out,
                r_out if r_reason is None else r_reason,
                rate("requests_kcount") or ZERO,
            )
        )
    # A model with no prices at all is free (":free" variants); one priced only in other units
    # (audio hours, characters, pages) has no price for the tokens we count.
    priced = {key for key, value in prices.items() if value is not None}
    prices_tokens = not priced or bool(priced & _PER.keys())
    return Rates(thresholds, tuple(brackets), prices_tokens)


def charge(rates: Rates, rec: GenAIRecord, source: str) -> Cost:
    """Exact cost of ``rec``'s tokens; cached tokens are priced once, at their own rate."""
    inp = rec.input_tokens
    read = rec.cache_read_tokens
    write = rec.cache_write_tokens
    write_1h = rec.cache_write_1h_tokens
    out = rec.output_tokens
    reason = rec.reasoning_tokens
    # Subsets larger than their total mean a sender mixed conventions; never price negative tokens.
    if write_1h > write:
        write = write_1h
    if reason > out:
        out = reason
    uncached = inp - read - write
    if uncached < 0:
        uncached = 0
        inp = read + write
    thresholds = rates.thresholds
    r_in, r_read, r_write, r_write_1h, r_out, r_reason, r_req = rates.brackets[
        bisect_left(thresholds, inp) if thresholds else 0
    ]
    # Cost has no "other" part, so a flat per-request fee (Perplexity's) is booked with the input.
    p_in = (uncached * r_in + r_req).quantize(_PLACES, ROUND_HALF_EVEN)
    p_read = (read * r_read).quantize(_PLACES, ROUND_HALF_EVEN) if read else ZERO
    if write:
        p_write = ((write - write_1h) * r_write + write_1h * r_write_1h).quantize(_PLACES, ROUND_HALF_EVEN)
    else:
        p_write = ZERO
    p_out = ((out - reason) * r_out + reason * r_reason).quantize(_PLACES, ROUND_HALF_EVEN)
    return Cost(p_in + p_read + p_write + p_out, p_in, p_out, p_read, p_write, source, True, True)


def exact_text(value: Decimal) -> str:
    """The amount exactly, in plain notation, without the storage scale's trailing zeros
    ("25.000000000000" -> "25", "1E-7" -> "0.0000001"): what a user typed reads back unchanged,
    as the API, the dashboard and alerts write money."""
    return format(value.normalize(), "f")
