"""Published list prices (USD per million tokens) that tests compute expected costs from,
independently of the server's catalogue. Source: each provider's pricing page."""

from __future__ import annotations

from decimal import Decimal

M = Decimal(1_000_000)

# model: (input, cache read, cache write, output); None = charged at the input rate
PRICES: dict[str, tuple[Decimal, Decimal | None, Decimal | None, Decimal]] = {
    "gpt-4o": (Decimal("2.50"), Decimal("1.25"), None, Decimal("10.00")),  # openai.com/api/pricing
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.075"), None, Decimal("0.60")),  # openai.com/api/pricing
    "o3-mini": (Decimal("1.10"), Decimal("0.55"), None, Decimal("4.40")),  # openai.com/api/pricing
    "text-embedding-3-small": (Decimal("0.02"), None, None, Decimal(0)),  # openai.com/api/pricing
    "claude-3-5-sonnet-20241022": (
        Decimal("3"),
        Decimal("0.30"),
        Decimal("3.75"),
        Decimal("15"),
    ),  # anthropic.com/pricing
    "claude-3-5-haiku-20241022": (
        Decimal("0.80"),
        Decimal("0.08"),
        Decimal("1.00"),
        Decimal("4"),
    ),  # anthropic.com/pricing
    "gemini-1.5-pro": (Decimal("1.25"), None, None, Decimal("5.00")),  # ai.google.dev/pricing, prompts <= 128k
    "mistral-large-latest": (Decimal("2"), None, None, Decimal("6")),  # mistral.ai/pricing
    "llama-3.1-8b-instant": (Decimal("0.05"), None, None, Decimal("0.08")),  # groq.com/pricing
    "command-r-plus-08-2024": (Decimal("2.50"), None, None, Decimal("10.00")),  # cohere.com/pricing
}


# Anthropic 1-hour cache writes cost 2x the base input price (anthropic.com/pricing).
CACHE_WRITE_1H = {"claude-3-5-sonnet-20241022": Decimal("6"), "claude-3-5-haiku-20241022": Decimal("1.60")}


def cost(
    model: str, input: int = 0, output: int = 0, cache_read: int = 0, cache_write: int = 0, cache_write_1h: int = 0
) -> Decimal:
    """Exact cost; ``input`` is cache-inclusive (OTel), cached tokens are charged once at their own rate;
    ``cache_write_1h`` is the part of ``cache_write`` written for one hour."""
    inp, read, write, out = PRICES[model]
    uncached = input - cache_read - cache_write
    write_5m = cache_write - cache_write_1h
    return (
        uncached * inp
        + cache_read * (inp if read is None else read)
        + write_5m * (inp if write is None else write)
        + cache_write_1h * CACHE_WRITE_1H.get(model, Decimal(0))
        + output * out
    ) / M


def as_json_number(value: Decimal) -> Decimal:
    """What a JSON float of ``value`` reads back as (the API renders exact decimals as numbers)."""
    return Decimal(str(float(value)))
