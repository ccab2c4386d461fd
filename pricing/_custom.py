"""Tenant custom prices: rules that win over the catalogue for their tenant, cache tokens included."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import re2
from cachetools import TTLCache

from ._cost import Rates

__all__ = [
    "MAX_PATTERN_CHARS",
    "CustomPrice",
    "CustomPrices",
    "TenantPriceCache",
    "compile_custom",
    "compile_model_pattern",
]

log = logging.getLogger("llmobserve.pricing")

MAX_PATTERN_CHARS = 200
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad pattern is the caller's ValueError, not a line on stderr
_RE2_OPTIONS.max_mem = 1 << 20  # 1 MiB per compiled pattern: bounds memory per tenant rule

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

    def __init__(self, rules: tuple[tuple[CustomPrice, re2._Regexp | None, Rates], ...]) -> None:
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
    per_token = [
        value / _PER_MTOK
        for value in (
            rule.input,
            rule.input if rule.cache_read is None else rule.cache_read,
            rule.input if rule.cache_write is None else rule.cache_write,
        )
    ]
    write = per_token[2]
    output = rule.output / _PER_MTOK
    reasoning = output if rule.reasoning is None else rule.reasoning / _PER_MTOK
    return Rates((), ((per_token[0], per_token[1], write, write, output, reasoning, Decimal(0)),))


def compile_model_pattern(pattern: str) -> re2._Regexp:
    """A tenant's model pattern, matched in linear time: patterns come from tenant admins and run on
    span-controlled model names in the shared ingest path, where Python's backtracking ``re`` could
    be made to stall every tenant (``(a+)+``). RE2 refuses backreferences and lookaround instead."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"model_pattern is longer than {MAX_PATTERN_CHARS} characters")
    try:
        return re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(
            f"model_pattern is not a valid RE2 regex (no backreferences or lookaround): {reason}"
        ) from None


def compile_custom(rules: list[CustomPrice]) -> CustomPrices:
    """Rules whose pattern cannot compile (stored before RE2 was required) are skipped and logged:
    one bad rule must not stop pricing for its tenant."""
    compiled = []
    for rule in sorted(rules, key=lambda r: (r.effective_from_ns, not r.is_regex), reverse=True):
        try:
            pattern = compile_model_pattern(rule.model) if rule.is_regex else None
        except ValueError as exc:
            log.warning("custom price %s skipped: %s", rule.id, exc)
            continue
        compiled.append((rule, pattern, _rates(rule)))
    return CustomPrices(tuple(compiled))


class TenantPriceCache:
    """Each tenant's compiled rules, reloaded at most every ``ttl`` seconds (and at once after
    ``invalidate``): pricing runs per span, loading runs per change."""

    def __init__(self, loader: Callable[[str], list[CustomPrice]], ttl: float = 5.0, max_tenants: int = 10_000) -> None:
        self._loader = loader
        self._cache: TTLCache[str, CustomPrices | None] = TTLCache(max_tenants, ttl, timer=time.monotonic)
        self._lock = threading.Lock()  # a TTLCache is not thread-safe
        self._generation = 0  # bumped by every invalidation: a load that raced one is not kept

    def for_tenant(self, tenant: str) -> CustomPrices | None:
        with self._lock:
            if tenant in self._cache:
                return self._cache[tenant]
            generation = self._generation
        compiled = compile_custom(self._loader(tenant)) or None
        with self._lock:
            if generation == self._generation:
                self._cache[tenant] = compiled
        return compiled

    def invalidate(self, tenant: str) -> None:
        with self._lock:
            self._generation += 1
            self._cache.pop(tenant, None)
