"""Our cached arithmetic against genai-prices' own calc_price, plus tiers and historic prices."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import genai_prices
import pytest

from llmobserve.pricing import Pricer
from llmobserve.pricing._cost import quantize
from llmobserve.pricing._providers import OTEL_TO_GENAI_PRICES
from llmobserve.semconv._record import GenAIRecord

PRICER = Pricer()


def _ns(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000) * 1000


def _llm(**fields: Any) -> GenAIRecord:
    return GenAIRecord(is_llm=True, has_usage=True, **fields)


SMALL = {"input_tokens": 12_345, "cache_read_tokens": 2_345, "output_tokens": 678}
BIG = {
    "input_tokens": 250_000,
    "cache_read_tokens": 30_000,
    "cache_write_tokens": 10_000,
    "output_tokens": 2_000,
    "reasoning_tokens": 500,
}
CASES = [
    ("openai", "gpt-4o-2024-08-06", SMALL, datetime(2026, 11, 1, tzinfo=UTC)),
    ("openai", "gpt-4o-mini", BIG, datetime(2026, 11, 1, tzinfo=UTC)),
    ("openai", "o3", SMALL, datetime(2025, 1, 1, tzinfo=UTC)),
    ("openai", "o3", SMALL, datetime(2025, 7, 1, tzinfo=UTC)),
    ("anthropic", "claude-3-5-sonnet-20241022", BIG, datetime(2026, 11, 1, tzinfo=UTC)),
    ("anthropic", "claude-sonnet-4-6", BIG, datetime(2026, 2, 1, tzinfo=UTC)),
    ("anthropic", "claude-sonnet-4-6", BIG, datetime(2026, 4, 1, tzinfo=UTC)),
    ("gcp.gemini", "gemini-1.5-pro", BIG, datetime(2026, 11, 1, tzinfo=UTC)),
    ("gcp.gemini", "gemini-2.5-pro", SMALL, datetime(2026, 11, 1, tzinfo=UTC)),
    ("gcp.vertex_ai", "gemini-2.5-flash", BIG, datetime(2026, 11, 1, tzinfo=UTC)),
    ("mistral_ai", "mistral-large-latest", SMALL, datetime(2026, 11, 1, tzinfo=UTC)),
    ("x_ai", "grok-4.20", BIG, datetime(2026, 3, 1, tzinfo=UTC)),
    ("deepseek", "deepseek-chat", SMALL, datetime(2026, 11, 1, 3, tzinfo=UTC)),
    ("deepseek", "deepseek-chat", SMALL, datetime(2026, 11, 1, 20, tzinfo=UTC)),
    ("groq", "llama-3.3-70b-versatile", SMALL, datetime(2026, 11, 1, tzinfo=UTC)),
    ("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", BIG, datetime(2026, 11, 1, tzinfo=UTC)),
    ("azure.ai.openai", "gpt-4o", SMALL, datetime(2026, 11, 1, tzinfo=UTC)),
    ("perplexity", "sonar", SMALL, datetime(2026, 11, 1, tzinfo=UTC)),
    ("perplexity", "sonar-deep-research", BIG, datetime(2026, 11, 1, tzinfo=UTC)),
    ("cohere", "command-r-plus", SMALL, datetime(2026, 11, 1, tzinfo=UTC)),
    ("moonshot_ai", "kimi-k2", SMALL, datetime(2026, 11, 1, tzinfo=UTC)),
    ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", SMALL, datetime(2026, 11, 1, tzinfo=UTC)),
    ("openrouter", "anthropic/claude-3.5-sonnet", SMALL, datetime(2026, 11, 1, tzinfo=UTC)),
]


def _library_price(provider: str, model: str, usage: dict[str, int], when: datetime, **kw: Any) -> Any:
    counts = dict(usage)
    if "reasoning_tokens" in counts:
        counts["output_reasoning_tokens"] = counts.pop("reasoning_tokens")
    return genai_prices.calc_price(
        genai_prices.Usage(**counts),
        model,
        provider_id=OTEL_TO_GENAI_PRICES[provider],
        genai_request_timestamp=when,
        **kw,
    )


@pytest.mark.parametrize(("provider", "model", "usage", "when"), CASES)
def test_total_matches_genai_prices_calc_price(
    provider: str, model: str, usage: dict[str, int], when: datetime
) -> None:
    ours = PRICER.price(_llm(provider=provider, response_model=model, **usage), start_time_ns=_ns(when))
    theirs = _library_price(provider, model, usage, when)
    assert ours.priced
    assert ours.total == quantize(theirs.total_price)
    assert ours.output == quantize(theirs.output_price)


@pytest.mark.parametrize(
    ("provider", "model"), [("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4-5"), ("azure.ai.openai", "gpt-4o")]
)
def test_batch_total_matches_genai_prices_with_batch_context(provider: str, model: str) -> None:
    when = datetime(2026, 11, 1, tzinfo=UTC)
    ours = PRICER.price(_llm(provider=provider, request_model=model, is_batch=True, **BIG), start_time_ns=_ns(when))
    theirs = _library_price(provider, model, BIG, when, price_context={"processing": "batch"})
    assert ours.total == quantize(theirs.total_price)


def test_gemini_1_5_pro_long_context_tier_applies_above_128k_input() -> None:
    at = _ns(datetime(2026, 11, 1, tzinfo=UTC))
    short = PRICER.price(
        _llm(provider="gcp.gemini", request_model="gemini-1.5-pro", input_tokens=128_000, output_tokens=1_000), at
    )
    long = PRICER.price(
        _llm(provider="gcp.gemini", request_model="gemini-1.5-pro", input_tokens=128_001, output_tokens=1_000), at
    )
    # $1.25 / $5 per MTok up to 128k input, then $2.50 / $10 for every token of the call.
    assert short.total == Decimal("0.16") + Decimal("0.005")
    assert long.total == Decimal("0.3200025") + Decimal("0.01")


def test_historic_price_is_chosen_by_span_start_time() -> None:
    # OpenAI cut o3 from $10 / $40 to $2 / $8 per MTok on 2025-06-10.
    rec = _llm(provider="openai", request_model="o3", input_tokens=1_000_000, output_tokens=1_000_000)
    before = PRICER.price(rec, start_time_ns=_ns(datetime(2025, 6, 9, 23, 59, 59, tzinfo=UTC)))
    after = PRICER.price(rec, start_time_ns=_ns(datetime(2025, 6, 10, tzinfo=UTC)))
    assert (before.total, after.total) == (Decimal("50"), Decimal("10"))


def test_time_of_day_price_follows_the_span_clock() -> None:
    # deepseek-chat: standard price 00:30-16:30 UTC, half price off-peak.
    rec = _llm(provider="deepseek", request_model="deepseek-chat", input_tokens=1_000_000)
    peak = PRICER.price(rec, start_time_ns=_ns(datetime(2026, 11, 1, 0, 30, tzinfo=UTC)))
    off = PRICER.price(rec, start_time_ns=_ns(datetime(2026, 11, 1, 0, 29, 59, 999999, tzinfo=UTC)))
    assert (peak.total, off.total) == (Decimal("0.27"), Decimal("0.135"))


def test_every_catalogue_model_matches_calc_price_in_every_context() -> None:
    from genai_prices.data import providers

    from llmobserve.pricing._catalogue import Schedule
    from llmobserve.pricing._cost import charge

    counts = {**BIG, "cache_write_1h_tokens": 4_000}
    usage = genai_prices.Usage(
        input_tokens=250_000,
        cache_read_tokens=30_000,
        cache_write_tokens=10_000,
        cache_write_1h_tokens=4_000,
        output_tokens=2_000,
        output_reasoning_tokens=500,
    )
    rec = GenAIRecord(**counts)
    moments = [datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 11, 1, 20, tzinfo=UTC)]
    mismatches = []
    for provider in providers:
        for model in provider.models:
            for context in ({}, {"processing": "batch"}, {"service_tier": "priority"}):
                schedule = Schedule(provider, model, context)
                for when in moments:
                    theirs = model.calc_price(
                        usage, provider, genai_request_timestamp=when, price_context=context or None
                    )
                    ours = charge(schedule.rates_at(_ns(when)), rec, "").total
                    if ours != quantize(theirs.total_price):
                        mismatches.append((provider.id, model.id, context, when, ours, theirs.total_price))
    assert mismatches == []
