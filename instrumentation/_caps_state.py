"""What the caps status route says, in the guard's terms: the caps that block, the per-model rates,
and how a call's labels fall under a cap. Parsed from the API's JSON; money as ``Decimal``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from ._caps_api import amount, moment

__all__ = ["Cap", "Labels", "Rate", "Snapshot", "max_output", "parse_status", "rate_for"]

_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Labels:
    """What a call is, in the terms caps are written in."""

    provider: str
    models: tuple[str, ...]  # the request model, then the response model once known
    agent: str
    customer: str
    service: str


class Usage(Protocol):
    """A call's token counts (``UsageState``), in OTel terms: input includes cache reads and writes."""

    input: int
    output: int
    cache_read: int
    cache_write: int


@dataclass(frozen=True, slots=True)
class Rate:
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal

    def cost(self, usage: Usage) -> Decimal:
        """Each token priced once at its own rate."""
        uncached = max(usage.input - usage.cache_read - usage.cache_write, 0)
        return (
            uncached * self.input
            + usage.cache_read * self.cache_read
            + usage.cache_write * self.cache_write
            + usage.output * self.output
        ) / _MILLION


@dataclass(frozen=True, slots=True)
class Cap:
    id: str
    name: str
    scope: str
    value: str | None
    period: str
    limit: Decimal
    period_start: datetime | None
    resets_at: datetime | None
    spend: Decimal
    customers: dict[str, Decimal]  # each_customer: the customers the server listed

    def subject(self, labels: Labels) -> str | None:
        """Whom a call with these labels spends for under this cap ('' for global), None if outside it."""
        if self.scope == "global":
            return ""
        if self.scope == "each_customer":
            return labels.customer or None
        if self.scope == "model":
            return self.value if self.value in labels.models else None
        return self.value if getattr(labels, self.scope, None) == self.value else None

    def server_spend(self, subject: str) -> Decimal:
        return self.customers.get(subject, Decimal(0)) if self.scope == "each_customer" else self.spend


@dataclass(frozen=True, slots=True)
class Snapshot:
    caps: tuple[Cap, ...]  # enabled hard_block caps only
    rates: dict[str, Rate]
    fetched_at: datetime


def parse_status(answer: dict[str, Any], fetched_at: datetime) -> Snapshot:
    """The status route's answer; raises ValueError / KeyError / TypeError / ArithmeticError when malformed."""
    caps = []
    for raw in answer.get("caps") or ():
        if not raw.get("enabled") or raw.get("enforcement") != "hard_block":
            continue
        customers = {str(c["customer"]): amount(c["spend_usd"]) for c in raw.get("customers") or ()}
        caps.append(
            Cap(
                str(raw["id"]),
                str(raw.get("name") or ""),
                str(raw["scope"]),
                raw.get("value"),
                str(raw.get("period") or ""),
                amount(raw["limit_usd"]),
                moment(raw.get("period_start")),
                moment(raw.get("resets_at")),
                amount(raw.get("spend_usd") or 0),
                customers,
            )
        )
    rates = {}
    for key, raw in (answer.get("rates") or {}).items():
        base = amount(raw["input_per_mtok"])
        cache_read, cache_write = raw.get("cache_read_per_mtok"), raw.get("cache_write_per_mtok")
        rates[str(key)] = Rate(
            base,
            amount(raw.get("output_per_mtok") or 0),
            base if cache_read is None else amount(cache_read),
            base if cache_write is None else amount(cache_write),
        )
    return Snapshot(tuple(caps), rates, fetched_at)


def rate_for(snapshot: Snapshot, labels: Labels) -> Rate | None:
    """The rates for the call's request model, else its response model (None: unknown)."""
    return next((r for m in labels.models if (r := snapshot.rates.get(f"{labels.provider}/{m}"))), None)


def max_output(facts: dict[str, Any]) -> int | None:
    """The request's output limit, whichever API spelling it uses (None: the model's own limit)."""
    config = facts.get("generationConfig") or facts.get("generation_config")
    candidates = [facts.get(key) for key in ("max_completion_tokens", "max_output_tokens", "max_tokens")]
    if isinstance(config, dict):
        candidates += [config.get("maxOutputTokens"), config.get("max_output_tokens")]
    for value in candidates:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None
