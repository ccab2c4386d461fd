"""``llmobserve pricing ...``: inspect how a model is priced."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal

__all__ = ["show_price"]


def _money(value: Decimal) -> str:
    """At least two decimals, and every significant one after (prices like 0.075 stay exact)."""
    text = format(value.normalize(), "f")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def _parse_time(raw: str | None) -> datetime:
    from llmobserve.query_api import parse_iso_time

    return parse_iso_time(raw) if raw else datetime.now(UTC)


def show_price(provider: str, model: str, at: str | None, batch: bool, service_tier: str) -> int:
    from llmobserve.pricing import Pricer, quote
    from llmobserve.semconv import normalize_provider

    try:
        when = _parse_time(at)
    except ValueError:
        print(
            f"error: --at must be an ISO 8601 time such as 2025-06-01 or 2025-06-01T12:00:00Z, got {at!r}",
            file=sys.stderr,
        )
        return 2
    otel_provider = normalize_provider(provider)
    found = quote(Pricer(), otel_provider, model, int(when.timestamp() * 1e9), batch, service_tier)
    if found is None:
        print(
            f"{otel_provider} {model}: not in the catalogue. Its spans are stored with priced=false and listed "
            f"by GET /api/v1/pricing/unpriced; they are never counted as $0."
        )
        return 1
    context = ", ".join(
        x for x in ("batch" if batch else "", f"service tier {service_tier}" if service_tier else "") if x
    )
    print(
        f"{otel_provider} {model} -> {found.provider_id}/{found.model_id} "
        f"(source: {found.source}; prices in force at {when.isoformat()}{'; ' + context if context else ''})"
    )
    print("USD per 1M tokens")
    for tier in found.tiers:
        scope = "  " if tier.above_input_tokens == 0 else f"  above {tier.above_input_tokens:,} input tokens: "
        line = (
            f"{scope}input {_money(tier.input)} | cache read {_money(tier.cache_read)} | cache write "
            f"{_money(tier.cache_write)} (1h {_money(tier.cache_write_1h)}) | output {_money(tier.output)} | "
            f"reasoning {_money(tier.reasoning)}"
        )
        if tier.per_request:
            line += f" | per request {_money(tier.per_request)}"
        print(line)
    return 0


def update_catalogue() -> int:
    """The catalogue ships inside the genai-prices package; offline, the way to a newer one is pip."""
    from llmobserve.pricing import CATALOGUE_VERSION

    print(f"catalogue in use: {CATALOGUE_VERSION} (bundled with the installed package, works offline)")
    print("to take a newer catalogue:")
    print("  1. pip install -U genai-prices      (or: make install after bumping it)")
    print("  2. restart llmobserve serve")
    print("  3. llmobserve pricing reprice --tenant NAME --from START --to END   for ranges to correct")
    print("every priced span records the catalogue version in its price_source.")
    return 0
