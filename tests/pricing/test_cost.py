"""Cost arithmetic and the outcome rules of ``Pricer.price``."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from decimal import Decimal
from typing import Any

import pytest

from llmobserve.pricing import CATALOGUE_VERSION, Cost, Pricer
from llmobserve.semconv._record import GenAIRecord

PRICER = Pricer()


def _llm(**fields: Any) -> GenAIRecord:
    return GenAIRecord(is_llm=True, has_usage=True, **fields)


def _assert_consistent(cost: Cost) -> None:
    parts = (cost.input, cost.output, cost.cache_read, cost.cache_write)
    assert cost.total == sum(parts)
    assert all(p.as_tuple().exponent == -12 for p in (cost.total, *parts))


def test_gpt_4o_cached_input_is_priced_once_at_the_cache_rate() -> None:
    rec = _llm(provider="openai", request_model="gpt-4o", input_tokens=1000, cache_read_tokens=200, output_tokens=500)
    cost = PRICER.price(rec)
    assert cost.total == Decimal("0.00725")  # 800 × 2.50 + 200 × 1.25 + 500 × 10.00 per MTok
    assert (cost.input, cost.cache_read, cost.output, cost.cache_write) == (
        Decimal("0.002"),
        Decimal("0.00025"),
        Decimal("0.005"),
        0,
    )
    assert (cost.priced, cost.billable, cost.source) == (True, True, CATALOGUE_VERSION)
    _assert_consistent(cost)


def test_anthropic_cache_write_tokens_use_the_cache_write_rate() -> None:
    rec = _llm(
        provider="anthropic",
        response_model="claude-3-5-sonnet-20241022",
        input_tokens=10_000,
        cache_read_tokens=2_000,
        cache_write_tokens=3_000,
        output_tokens=1_000,
    )
    cost = PRICER.price(rec)
    # 5,000 uncached × $3 + 2,000 read × $0.30 + 3,000 written × $3.75 + 1,000 out × $15, per MTok
    assert cost.input == Decimal("0.015")
    assert cost.cache_read == Decimal("0.0006")
    assert cost.cache_write == Decimal("0.01125")
    assert cost.output == Decimal("0.015")
    assert cost.total == Decimal("0.04185")
    _assert_consistent(cost)


def test_one_hour_cache_writes_use_their_own_rate() -> None:
    rec = _llm(
        provider="anthropic",
        request_model="claude-3-5-sonnet-latest",
        input_tokens=4_000,
        cache_write_tokens=3_000,
        cache_write_1h_tokens=1_000,
    )
    # 1,000 × $3 + 2,000 × $3.75 + 1,000 × $6 per MTok
    assert PRICER.price(rec).total == Decimal("0.0165")


def test_cache_tokens_without_a_cache_price_are_charged_at_the_input_rate() -> None:
    # mistral-large has only input and output prices in the catalogue.
    rec = _llm(provider="mistral_ai", request_model="mistral-large-latest", input_tokens=1_000, cache_read_tokens=400)
    cost = PRICER.price(rec)
    assert cost.total == Decimal("0.002")  # all 1,000 at $2 / MTok
    assert (cost.input, cost.cache_read) == (Decimal("0.0012"), Decimal("0.0008"))


def test_reasoning_is_part_of_output_and_priced_at_its_own_rate_when_listed() -> None:
    rec = _llm(provider="perplexity", request_model="sonar-deep-research", output_tokens=1_000, reasoning_tokens=400)
    cost = PRICER.price(rec)
    assert cost.output == Decimal("0.006")  # 600 × $8 + 400 × $3 per MTok
    _assert_consistent(cost)


def test_per_request_fee_is_booked_with_the_input() -> None:
    cost = PRICER.price(_llm(provider="perplexity", request_model="sonar", input_tokens=1_000, output_tokens=1_000))
    assert cost.input == Decimal("0.001") + Decimal("0.012")  # $1 / MTok + $12 per 1,000 requests
    assert cost.total == Decimal("0.014")


def test_cache_counts_larger_than_the_input_never_go_negative() -> None:
    rec = _llm(provider="openai", request_model="gpt-4o", input_tokens=100, cache_read_tokens=1_000)
    cost = PRICER.price(rec)
    assert cost.input == 0 and cost.cache_read == Decimal("0.00125")


def test_rounding_is_half_even_at_twelve_places() -> None:
    # Catalogue rates rarely need more than 12 places, so check the rule on the helper directly.
    from llmobserve.pricing._cost import quantize

    assert quantize(Decimal("0.0000000000005")) == Decimal("0")
    assert quantize(Decimal("0.0000000000015")) == Decimal("0.000000000002")


def test_cost_is_frozen() -> None:
    cost = PRICER.price(_llm(provider="openai", request_model="gpt-4o", input_tokens=1))
    with pytest.raises(FrozenInstanceError):
        cost.total = Decimal(1)  # type: ignore[misc]


def test_non_llm_span_costs_nothing_and_is_not_billable() -> None:
    rec = GenAIRecord(
        operation="invoke_agent", provider="openai", request_model="gpt-4o", input_tokens=10_000, has_usage=True
    )
    cost = PRICER.price(rec)
    assert (cost.total, cost.priced, cost.billable, cost.source) == (0, True, False, "")


@pytest.mark.parametrize(
    ("status", "failed", "has_usage"),
    [(429, False, True), (503, False, True), (500, True, False), (0, True, False)],
)
def test_failed_calls_cost_nothing(status: int, failed: bool, has_usage: bool) -> None:
    rec = GenAIRecord(
        is_llm=True,
        has_usage=has_usage,
        provider="openai",
        request_model="gpt-4o",
        input_tokens=1_000 if has_usage else 0,
        http_status=status,
    )
    cost = PRICER.price(rec, failed=failed)
    assert (cost.total, cost.priced, cost.billable, cost.source) == (0, True, False, "failed")


def test_error_with_usage_is_still_charged() -> None:
    rec = _llm(provider="openai", request_model="gpt-4o", input_tokens=1_000, http_status=400)
    assert PRICER.price(rec, failed=True).total == Decimal("0.0025")


def test_llm_call_without_usage_is_unpriced() -> None:
    rec = GenAIRecord(is_llm=True, provider="openai", request_model="gpt-4o")
    cost = PRICER.price(rec)
    assert (cost.total, cost.priced, cost.billable, cost.source) == (0, False, True, "no-usage")


def test_unknown_model_is_unpriced_not_free() -> None:
    cost = PRICER.price(_llm(provider="openai", request_model="my-finetune-xyz", input_tokens=1_000))
    assert (cost.total, cost.priced, cost.billable, cost.source) == (0, False, True, "")


def test_unknown_provider_is_unpriced() -> None:
    cost = PRICER.price(_llm(provider="ollama", request_model="llama3.1", input_tokens=1_000))
    assert (cost.total, cost.priced) == (0, False)


def test_unknown_model_falls_back_to_the_client_reported_cost() -> None:
    rec = _llm(provider="ibm.watsonx.ai", request_model="granite-13b", input_tokens=10, client_cost=Decimal("0.0123"))
    cost = PRICER.price(rec)
    assert (cost.total, cost.input, cost.output, cost.priced, cost.billable, cost.source) == (
        Decimal("0.0123"),
        0,
        0,
        True,
        True,
        "client",
    )


def test_catalogue_price_wins_over_the_client_cost() -> None:
    rec = _llm(provider="openai", request_model="gpt-4o", input_tokens=1_000, client_cost=Decimal("9"))
    assert PRICER.price(rec).total == Decimal("0.0025")


def test_models_priced_only_in_other_units_are_unpriced_not_zero() -> None:
    """Whisper (audio hours) and OCR (pages) have no token price: $0 would hide the gap."""
    from llmobserve.pricing import Pricer
    from llmobserve.semconv import GenAIRecord

    pricer = Pricer()
    for provider, model in (("openai", "whisper-1"), ("mistral_ai", "mistral-ocr-2503")):
        rec = GenAIRecord(
            operation="chat",
            provider=provider,
            request_model=model,
            input_tokens=1000,
            output_tokens=10,
            has_usage=True,
            is_llm=True,
        )
        cost = pricer.price(rec)
        assert not cost.priced and cost.total == 0, (model, cost)
    free = GenAIRecord(
        operation="chat",
        provider="azure.ai.openai",
        request_model="phi-4-reasoning:free",
        input_tokens=1000,
        output_tokens=10,
        has_usage=True,
        is_llm=True,
    )
    assert pricer.price(free).priced  # genuinely free: priced at $0
