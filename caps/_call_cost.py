"""What one call costs, priced as the receiver prices its span (custom prices included): the
worst case a strict-mode reservation holds, the real cost it settles at, and the per-token rates
the SDK uses to add its own calls to the last known spend."""

from __future__ import annotations

from decimal import Decimal

from llmobserve.pricing import CustomPrices, Pricer, exact_text, price_attributes

__all__ = ["DEFAULT_MAX_OUTPUT_TOKENS", "call_cost", "rates"]

DEFAULT_MAX_OUTPUT_TOKENS = 32_768
"""The worst case of a request that sets no output limit: the largest output limit of current chat
models (the catalogue records prices, not output limits). A request that sets one is held to it."""

_PROBE = 1000  # tokens: small enough to stay below long-context tiers


def call_cost(
    pricer: Pricer,
    custom: CustomPrices | None,
    provider: str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    cache_read: int = 0,
    cache_write: int = 0,
) -> tuple[Decimal, bool]:
    """(cost, priced): an unknown model costs 0 and says so."""
    cost = price_attributes(
        pricer, _attributes(provider, model, input_tokens, output_tokens, cache_read, cache_write), custom=custom
    )
    return cost.total, cost.priced


def rates(pricer: Pricer, custom: CustomPrices | None, provider: str, model: str) -> dict[str, str] | None:
    """USD per million tokens for this model, or None when it cannot be priced."""
    plain = price_attributes(pricer, _attributes(provider, model, _PROBE, _PROBE), custom=custom)
    if not plain.priced or plain.source == "client":
        return None
    read = price_attributes(pricer, _attributes(provider, model, _PROBE, 0, cache_read=_PROBE), custom=custom)
    write = price_attributes(pricer, _attributes(provider, model, _PROBE, 0, cache_write=_PROBE), custom=custom)
    scale = Decimal(1_000_000 // _PROBE)
    return {
        "input_per_mtok": exact_text(plain.input * scale),
        "output_per_mtok": exact_text(plain.output * scale),
        "cache_read_per_mtok": exact_text(read.cache_read * scale),
        "cache_write_per_mtok": exact_text(write.cache_write * scale),
    }


def _attributes(
    provider: str, model: str, input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0
) -> dict[str, object]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": input_tokens,
        "gen_ai.usage.output_tokens": output_tokens,
        "gen_ai.usage.cache_read.input_tokens": cache_read,
        "gen_ai.usage.cache_write.input_tokens": cache_write,
    }
