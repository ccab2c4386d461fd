"""Tenant custom prices: rules that win over the catalogue for their tenant, cache tokens included."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ._cost import Rates

__all__ = ["CustomPrice", "CustomPrices", "TenantPriceCache", "compile_custom"]

_PER_MTOK = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class CustomPrice:
    """One rule, prices in USD per million tokens; missing cache/reasoning prices fall back to
    input (cache) and output (reasoning), as providers bill them when they have no own rate."""

    id: str
    provider: str  # "" matches every provider
    model: str  # an exact name, or a regex when ``is_regex``
    is_regex: bool
    effective_from_ns: int
    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    reasoning: Decimal | None = None


class CustomPrices:
    """A tenant's rules, ready to match: the latest effective rule that matches wins."""

    __slots__ = ("_rules",)

    def __init__(self, rules: tuple[tuple[CustomPrice, re.Pattern[str] | None, Rates], ...]) -> None:
        self._rules = rules

    def __bool__(self) -> bool:
        return bool(self._rules)

    def match(self, provider: str, models: tuple[str, ...], ts_ns: int) -> tuple[CustomPrice, Rates] | None:
        for rule, pattern, rates in self._rules:  # sorted: latest effective_from first
            if rule.effective_from_ns > ts_ns or (rule.provider and rule.provider != provider):
                continue
            for model in models:
                if model and (pattern.fullmatch(model) if pattern is not None else model == rule.model):
                    return rule, rates
        return None


def _rates(rule: CustomPrice) -> Rates:
    per_token = [value / _PER_MTOK for value in (
        rule.input,
        rule.input if rule.cache_read is None else rule.cache_read,
        rule.input if rule.cache_write is None else rule.cache_write,
    )]
    write = per_token[2]
    output = rule.output / _PER_MTOK
    reasoning = output if rule.reasoning is None else rule.reasoning / _PER_MTOK
    return Rates((), ((per_token[0], per_token[1], write, write, output, reasoning, Decimal(0)),))


def compile_custom(rules: list[CustomPrice]) -> CustomPrices:
    """Raises ``re.error`` for a bad pattern (the API validates before storing)."""
    ordered = sorted(rules, key=lambda r: (r.effective_from_ns, not r.is_regex), reverse=True)
    return CustomPrices(tuple((r, re.compile(r.model) if r.is_regex else None, _rates(r)) for r in ordered))


class TenantPriceCache:
    """Each tenant's compiled rules, reloaded at most every ``ttl`` seconds (and at once after
    ``invalidate``): pricing runs per span, loading runs per change."""

    def __init__(self, loader: Callable[[str], list[CustomPrice]], ttl: float = 5.0) -> None:
        self._loader = loader
        self._ttl = ttl
        self._cache: dict[str, tuple[float, CustomPrices | None]] = {}
        self._lock = threading.Lock()

    def for_tenant(self, tenant: str) -> CustomPrices | None:
        now = time.monotonic()
        hit = self._cache.get(tenant)
        if hit is not None and hit[0] > now:
            return hit[1]
        compiled = compile_custom(self._loader(tenant)) or None
        with self._lock:
            self._cache[tenant] = (now + self._ttl, compiled)
        return compiled

    def invalidate(self, tenant: str) -> None:
        with self._lock:
            self._cache.pop(tenant, None)
