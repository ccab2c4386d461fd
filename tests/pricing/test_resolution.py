"""Provider and model resolution: OTel names → genai-prices providers, model names, request context."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from genai_prices.data import providers

from llmobserve.pricing import Pricer
from llmobserve.pricing._catalogue import Catalogue
from llmobserve.pricing._providers import OTEL_TO_GENAI_PRICES, find_provider
from llmobserve.semconv._record import GenAIRecord

PRICER = Pricer()
PROVIDER_IDS = {p.id for p in providers}
NOV_2026 = int(datetime(2026, 11, 1, 12, tzinfo=UTC).timestamp()) * 10**9

EXPECTED = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "aws.bedrock": "aws",
    "mistral_ai": "mistral",
    "x_ai": "x-ai",
    "deepseek": "deepseek",
    "groq": "groq",
    "cohere": "cohere",
    "perplexity": "perplexity",
    "moonshot_ai": "moonshotai",
    "together": "together",
    "fireworks": "fireworks",
    "openrouter": "openrouter",
}


def _llm(**fields: Any) -> GenAIRecord:
    return GenAIRecord(is_llm=True, has_usage=True, **fields)


def test_every_mapped_provider_id_exists_in_the_catalogue() -> None:
    assert set(OTEL_TO_GENAI_PRICES.values()) <= PROVIDER_IDS


@pytest.mark.parametrize(("otel", "genai_id"), sorted(EXPECTED.items()))
def test_otel_provider_names_resolve_to_genai_prices_providers(otel: str, genai_id: str) -> None:
    provider = find_provider(otel, providers)
    assert provider is not None and provider.id == genai_id


@pytest.mark.parametrize("otel", ["ibm.watsonx.ai", "ollama", "", "my-gateway"])
def test_providers_without_a_catalogue_resolve_to_nothing(otel: str) -> None:
    assert find_provider(otel, providers) is None


def test_third_party_names_that_are_genai_prices_ids_resolve_as_is() -> None:
    provider = find_provider("Cerebras", providers)
    assert provider is not None and provider.id == "cerebras"


def test_response_model_wins_over_request_model() -> None:
    rec = _llm(
        provider="openai", request_model="gpt-4o", response_model="gpt-4o-mini-2024-07-18", input_tokens=1_000_000
    )
    assert PRICER.price(rec).total == Decimal("0.15")


def test_request_model_is_used_when_the_response_model_is_unknown() -> None:
    rec = _llm(provider="openai", request_model="gpt-4o", response_model="some-alias", input_tokens=1_000_000)
    assert PRICER.price(rec).total == Decimal("2.5")


def test_dated_and_gateway_prefixed_names_resolve() -> None:
    for model in ("gpt-4o-2024-08-06", "openai/gpt-4o", "GPT-4o"):
        assert PRICER.price(_llm(provider="openai", request_model=model, input_tokens=1_000_000)).total == Decimal(
            "2.5"
        )


def test_empty_provider_falls_back_to_model_based_matching() -> None:
    rec = _llm(request_model="claude-3-5-sonnet-20241022", input_tokens=1_000_000)
    cost = PRICER.price(rec)
    assert cost.priced and cost.total == Decimal("3")


def test_unknown_provider_does_not_fall_back_to_model_matching() -> None:
    cost = PRICER.price(_llm(provider="my-gateway", request_model="claude-3-5-sonnet-20241022", input_tokens=1_000))
    assert not cost.priced


def test_cloud_resellers_borrow_the_model_owner_price() -> None:
    azure = PRICER.price(_llm(provider="azure.ai.openai", request_model="gpt-4o", input_tokens=1_000_000))
    vertex = PRICER.price(
        _llm(provider="gcp.vertex_ai", request_model="claude-3-5-sonnet-v2@20241022", input_tokens=1_000_000)
    )
    assert (azure.total, vertex.total) == (Decimal("2.5"), Decimal("3"))


def test_batch_price_applies_from_its_start_date() -> None:
    rec = _llm(provider="openai", request_model="gpt-4o", input_tokens=1_000_000, is_batch=True)
    before = int(datetime(2026, 10, 13, tzinfo=UTC).timestamp()) * 10**9
    assert PRICER.price(rec, start_time_ns=NOV_2026).total == Decimal("1.25")
    assert PRICER.price(rec, start_time_ns=before).total == Decimal("2.5")


def test_priority_service_tier_uses_the_priority_price() -> None:
    rec = _llm(provider="openai", request_model="gpt-4o", input_tokens=1_000_000, service_tier="priority")
    assert PRICER.price(rec, start_time_ns=NOV_2026).total == Decimal("4.25")
    rec.service_tier = "auto"
    assert PRICER.price(rec, start_time_ns=NOV_2026).total == Decimal("2.5")


def test_catalogue_caches_hits_and_misses_and_stays_bounded() -> None:
    catalogue = Catalogue(providers, max_entries=3)
    first = catalogue.lookup("openai", "gpt-4o-2024-08-06", "gpt-4o", False, "")
    assert first is not None and first.model_id == "gpt-4o"
    assert catalogue.lookup("openai", "gpt-4o-2024-08-06", "gpt-4o", False, "") is first
    # Another spelling of the same model shares the compiled schedule.
    assert catalogue.lookup("openai", "gpt-4o", "", False, "") is first
    assert catalogue.lookup("openai", "nope", "", False, "") is None
    for i in range(10):
        catalogue.lookup("openai", f"unknown-{i}", "", False, "")
    assert len(catalogue._by_key) == 3
