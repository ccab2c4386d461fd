"""Resolve (provider, model, context) against genai-prices once; pick the price period per span."""

from __future__ import annotations

import calendar
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Final

from genai_prices.types import (
    ModelInfo,
    ModelPrice,
    Provider,
    StartDateConstraint,
    TieredPrices,
    TimeOfDateConstraint,
)

from ._cost import Rates, compile_rates
from ._providers import find_provider

__all__ = ["Catalogue", "Schedule"]

_NS_PER_DAY: Final = 86_400 * 10**9
_MISS: Final = object()

Active = Callable[[int], bool]
"""Whether a price condition holds for a span starting at the given Unix time in ns."""


def _since(start: date) -> Active:
    start_ns = calendar.timegm(start.timetuple()) * 10**9
    return lambda ts: ts >= start_ns


def _ns_of_day(value: time) -> int:
    # Same normalisation as genai-prices: naive times are UTC, aware ones are moved to UTC.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    utc = datetime.combine(date(1970, 1, 1), aware).astimezone(UTC)
    return ((utc.hour * 3600 + utc.minute * 60 + utc.second) * 10**6 + utc.microsecond) * 1000


def _daily(start_time: time, end_time: time) -> Active:
    start, end = _ns_of_day(start_time), _ns_of_day(end_time)
    if end < start:  # the window wraps midnight
        return lambda ts: ts % _NS_PER_DAY >= start or ts % _NS_PER_DAY < end
    return lambda ts: start <= ts % _NS_PER_DAY < end


def _condition(constraint: object) -> Active | None:
    if constraint is None:
        return None
    if isinstance(constraint, StartDateConstraint):
        return _since(constraint.start_date)
    if isinstance(constraint, TimeOfDateConstraint):
        return _daily(constraint.start_time, constraint.end_time)
    raise TypeError(f"unsupported genai-prices constraint {constraint!r}")


class Schedule:
    """One model's prices over time for one request context (batch, service tier)."""

    __slots__ = ("_bases", "_periods", "_variants", "model_id", "provider_id", "static")

    def __init__(self, provider: Provider, model: ModelInfo, context: Mapping[str, str]) -> None:
        self.provider_id = provider.id
        self.model_id = model.id
        prices = model.prices
        if isinstance(prices, ModelPrice):
            self._bases: tuple[tuple[Active | None, ModelPrice], ...] = ((None, prices),)
        else:
            self._bases = tuple((_condition(c.constraint), c.prices) for c in prices)
        self._variants = tuple(
            (_condition(v.constraint), v.prices)
            for v in model.price_variants or ()
            if context and all(context.get(k) == value for k, value in v.when.items())
        )
        self._periods: dict[tuple[int, int], Rates] = {}
        # Most models have one period: skip the time checks entirely for them.
        timeless = self._bases[-1][0] is None and all(active is None for active, _ in self._variants)
        self.static = self._compile(len(self._bases) - 1, (1 << len(self._variants)) - 1) if timeless else None

    def rates_at(self, ts_ns: int) -> Rates:
        if self.static is not None:
            return self.static
        # genai-prices: the last active conditional price wins, else the first one.
        index = 0
        for i in range(len(self._bases) - 1, -1, -1):
            active = self._bases[i][0]
            if active is None or active(ts_ns):
                index = i
                break
        mask = 0
        for bit, (active, _) in enumerate(self._variants):
            if active is None or active(ts_ns):
                mask |= 1 << bit
        rates = self._periods.get((index, mask))
        if rates is None:  # a race here only compiles the same value twice
            rates = self._periods[(index, mask)] = self._compile(index, mask)
        return rates

    def _compile(self, index: int, mask: int) -> Rates:
        merged: dict[str, Decimal | TieredPrices | None] = dict(self._bases[index][1].__dict__)
        overrides: dict[str, Decimal | TieredPrices] = {}
        for bit, (_, prices) in enumerate(self._variants):
            if mask >> bit & 1:
                for key, value in prices.__dict__.items():
                    if value is not None:
                        overrides.setdefault(key, value)  # earlier variants win, as in genai-prices
        merged.update(overrides)
        return compile_rates(merged)


def _model_names(response_model: str, request_model: str) -> list[str]:
    names = [n for n in dict.fromkeys((response_model, request_model)) if n]
    # "openai/gpt-4o"-style names (LiteLLM, gateways) last, after genai-prices had its chance.
    names += [n.rsplit("/", 1)[1] for n in names if "/" in n and not n.endswith("/")]
    return names


class Catalogue:
    """Bounded, thread-safe cache of (provider, models, context) → ``Schedule`` (or None if unknown)."""

    def __init__(self, providers: Sequence[Provider], max_entries: int = 4096) -> None:
        self._providers = list(providers)
        self._max = max_entries
        # Ordered: the oldest entry leaves in O(1) (a plain dict's front is found by a scan past
        # every entry deleted before it)
        self._by_key: OrderedDict[tuple[str, str, str, bool, str], Schedule | None] = OrderedDict()
        self._schedules: dict[tuple[str, int, tuple[int, ...]], Schedule] = {}
        self._lock = threading.Lock()

    def lookup(
        self, provider: str, response_model: str, request_model: str, is_batch: bool, service_tier: str
    ) -> Schedule | None:
        key = (provider, response_model, request_model, is_batch, service_tier)
        found = self._by_key.get(key, _MISS)
        if found is not _MISS:
            return found  # type: ignore[return-value]  # not the _MISS sentinel: a Schedule or None
        context = {"processing": "batch"} if is_batch else {}
        if service_tier:
            context["service_tier"] = service_tier
        schedule = self._resolve(provider, _model_names(response_model, request_model), context)
        # Readers never take the lock: they only get(), and eviction happens under it.
        with self._lock:
            if key not in self._by_key and len(self._by_key) >= self._max:
                self._by_key.popitem(last=False)
            self._by_key[key] = schedule
        return schedule

    def _resolve(self, provider_name: str, names: list[str], context: dict[str, str]) -> Schedule | None:
        provider = find_provider(provider_name, self._providers) if provider_name else None
        if provider_name and provider is None:
            return None
        for name in names:
            owner = provider or self._provider_for_model(name.lower())
            if owner is None:
                continue
            model = owner.find_model(name, all_providers=self._providers)
            if model is not None:
                # genai-prices ignores the request context for a model borrowed from a fallback provider.
                own = any(model is m for m in owner.models)
                return self._schedule(owner, model, context if own else {})
        return None

    def _provider_for_model(self, model_ref: str) -> Provider | None:
        return next(
            (p for p in self._providers if p.model_match is not None and p.model_match.is_match(model_ref)), None
        )

    def _schedule(self, provider: Provider, model: ModelInfo, context: Mapping[str, str]) -> Schedule:
        # Share one Schedule between spellings of the same model; the context only matters
        # through the variants it selects.
        chosen = tuple(
            i for i, v in enumerate(model.price_variants or ()) if all(context.get(k) == x for k, x in v.when.items())
        )
        key = (provider.id, id(model), chosen)  # ids repeat across providers; the objects live as long as we do
        with self._lock:
            schedule = self._schedules.get(key)
            if schedule is None:
                schedule = self._schedules[key] = Schedule(provider, model, context)
        return schedule
