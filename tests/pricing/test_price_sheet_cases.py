"""Hand-computed costs from the providers' published price sheets (USD per 1M tokens), checked
against the whole pricing path (catalogue resolution, tiers, history, batch/flex, cache rates).

Each case: (source, provider, model, usage, when, context, expected USD). Usage is OTel-style:
input is cache-inclusive, output is reasoning-inclusive.
"""

from __future__ import annotations

from calendar import timegm
from datetime import datetime
from decimal import Decimal

import pytest

from llmobserve.pricing import Pricer
from llmobserve.semconv import GenAIRecord

OPENAI = "openai.com/api/pricing"
ANTHROPIC = "anthropic.com/pricing (1h cache writes: 2x input)"
GOOGLE = "ai.google.dev/gemini-api/docs/pricing"
MISTRAL = "mistral.ai/pricing"
GROQ = "groq.com/pricing"
DEEPSEEK = "api-docs.deepseek.com/quick_start/pricing (early 2025: off-peak 16:30-00:30 UTC at 50%)"
XAI = "docs.x.ai/docs/models"
COHERE = "cohere.com/pricing"
NOW = "2026-11-25T10:00:00"


def U(i: int = 0, o: int = 0, read: int = 0, write: int = 0, write_1h: int = 0, reasoning: int = 0) -> dict[str, int]:
    return {
        "input_tokens": i,
        "output_tokens": o,
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "cache_write_1h_tokens": write_1h,
        "reasoning_tokens": reasoning,
    }


M = 1_000_000
CASES = [
    # --- OpenAI ---
    (OPENAI, "openai", "gpt-4o", U(1000, 500, read=200), NOW, {}, "0.00725"),  # 800x2.50 + 200x1.25 + 500x10
    (OPENAI, "openai", "gpt-4o", U(M), NOW, {}, "2.50"),
    (OPENAI, "openai", "gpt-4o-2024-08-06", U(1000, 1000), NOW, {}, "0.0125"),  # dated snapshot, same prices
    (OPENAI, "openai", "gpt-4o-mini", U(10_000, 2000, read=4000), NOW, {}, "0.0024"),  # 6k x.15 + 4k x.075 + 2k x.60
    (OPENAI, "openai", "gpt-4.1", U(100_000, 10_000), NOW, {}, "0.28"),  # $2 / $8
    (OPENAI, "openai", "gpt-4.1", U(100_000, read=50_000), NOW, {}, "0.125"),  # 50k x2 + 50k x0.50
    (OPENAI, "openai", "gpt-4.1-mini", U(M, M), NOW, {}, "2.00"),  # $0.40 / $1.60
    (OPENAI, "openai", "gpt-4.1-nano", U(M, M), NOW, {}, "0.50"),  # $0.10 / $0.40
    (
        OPENAI,
        "openai",
        "o3-mini",
        U(1000, 2000, reasoning=1500),
        NOW,
        {},
        "0.0099",
    ),  # $1.10 / $4.40, reasoning at output
    (OPENAI, "openai", "o4-mini", U(10_000, 10_000), NOW, {}, "0.055"),  # $1.10 / $4.40
    (OPENAI, "openai", "o1", U(1000, 1000), NOW, {}, "0.075"),  # $15 / $60
    (OPENAI, "openai", "gpt-5", U(10_000, 1000), NOW, {}, "0.0225"),  # $1.25 / $10
    (OPENAI, "openai", "gpt-5", U(10_000, read=8000), NOW, {}, "0.0035"),  # 2k x1.25 + 8k x0.125
    (OPENAI, "openai", "text-embedding-3-small", U(M), NOW, {}, "0.02"),
    (OPENAI, "openai", "text-embedding-3-large", U(M), NOW, {}, "0.13"),
    (OPENAI, "openai", "gpt-4o", U(M, M), NOW, {"is_batch": True}, "6.25"),  # Batch API: 50% of $2.50 / $10
    (OPENAI, "openai", "o3", U(M, M), NOW, {"service_tier": "flex"}, "5.00"),  # flex: 50% of $2 / $8
    (OPENAI, "openai", "o3", U(1000, 1000), "2025-06-01T12:00:00", {}, "0.05"),  # before the 2025-06-10 cut: $10 / $40
    (OPENAI, "openai", "o3", U(1000, 1000), "2025-07-01T12:00:00", {}, "0.01"),  # after: $2 / $8
    # --- Anthropic (usage.input_tokens excludes cache on the wire; here input is cache-inclusive) ---
    (ANTHROPIC, "anthropic", "claude-3-5-sonnet-20241022", U(5000, 800, read=1000, write=2000), NOW, {}, "0.0258"),
    (
        ANTHROPIC,
        "anthropic",
        "claude-3-5-sonnet-20241022",
        U(5000, 500, read=1000, write=2000, write_1h=500),
        NOW,
        {},
        "0.022425",
    ),  # 2k x3 + 1k x0.30 + 1.5k x3.75 + 500 x6 + 500 x15
    (ANTHROPIC, "anthropic", "claude-3-5-haiku-20241022", U(4000, 1000, read=1000), NOW, {}, "0.00648"),
    (ANTHROPIC, "anthropic", "claude-3-opus-20240229", U(1000, 1000), NOW, {}, "0.09"),  # $15 / $75
    (ANTHROPIC, "anthropic", "claude-3-haiku-20240307", U(M, M), NOW, {}, "1.50"),  # $0.25 / $1.25
    (ANTHROPIC, "anthropic", "claude-sonnet-4-20250514", U(10_000, 2000), NOW, {}, "0.06"),  # $3 / $15
    (ANTHROPIC, "anthropic", "claude-opus-4-20250514", U(1000, 1000), NOW, {}, "0.09"),  # $15 / $75
    (ANTHROPIC, "anthropic", "claude-3-7-sonnet-20250219", U(M, write=M), NOW, {}, "3.75"),  # 5-minute write
    (ANTHROPIC, "anthropic", "claude-3-7-sonnet-20250219", U(M, read=M), NOW, {}, "0.30"),  # cache read
    (ANTHROPIC, "anthropic", "claude-haiku-4-5", U(M, M), NOW, {}, "6.00"),  # $1 / $5
    # --- Google Gemini ---
    (GOOGLE, "gcp.gemini", "gemini-1.5-pro", U(10_000, 1000), NOW, {}, "0.0175"),  # <=128k: $1.25 / $5
    (GOOGLE, "gcp.gemini", "gemini-1.5-pro", U(200_000, 1000), NOW, {}, "0.51"),  # >128k: $2.50 / $10
    (GOOGLE, "gcp.gemini", "gemini-2.5-pro", U(100_000, 10_000), NOW, {}, "0.225"),  # <=200k: $1.25 / $10
    (GOOGLE, "gcp.gemini", "gemini-2.5-pro", U(300_000, 10_000), NOW, {}, "0.90"),  # >200k: $2.50 / $15
    (GOOGLE, "gcp.gemini", "gemini-2.0-flash", U(M, M), NOW, {}, "0.50"),  # $0.10 / $0.40
    (GOOGLE, "gcp.gemini", "gemini-2.5-flash", U(M, M), NOW, {}, "2.80"),  # $0.30 / $2.50
    # --- Mistral ---
    (MISTRAL, "mistral_ai", "mistral-large-2411", U(2000, 300), NOW, {}, "0.0058"),  # $2 / $6
    (MISTRAL, "mistral_ai", "codestral-latest", U(M, M), NOW, {}, "1.20"),  # $0.30 / $0.90
    # --- Groq ---
    (GROQ, "groq", "llama-3.1-8b-instant", U(5000, 700), NOW, {}, "0.000306"),  # $0.05 / $0.08
    (GROQ, "groq", "llama-3.3-70b-versatile", U(M, M), NOW, {}, "1.38"),  # $0.59 / $0.79
    # --- DeepSeek (prices of early 2025) ---
    (DEEPSEEK, "deepseek", "deepseek-chat", U(10_000, 1000, read=2000), "2025-03-03T10:00:00", {}, "0.0034"),
    (DEEPSEEK, "deepseek", "deepseek-chat", U(10_000, 1000, read=2000), "2025-03-03T18:00:00", {}, "0.0017"),
    (DEEPSEEK, "deepseek", "deepseek-reasoner", U(1000, 1000), "2025-03-03T10:00:00", {}, "0.00274"),  # $0.55 / $2.19
    # --- xAI, Cohere ---
    (XAI, "x_ai", "grok-3", U(1000, 1000), NOW, {}, "0.018"),  # $3 / $15
    (COHERE, "cohere", "command-r-plus-08-2024", U(M, M), NOW, {}, "12.50"),  # $2.50 / $10
]


def test_at_least_40_cases_across_providers() -> None:
    assert len(CASES) >= 40
    assert {c[1] for c in CASES} >= {"openai", "anthropic", "gcp.gemini", "mistral_ai", "groq", "deepseek"}


@pytest.mark.parametrize(
    "source, provider, model, usage, when, context, expected", CASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)]
)
def test_price_sheet_case(
    source: str, provider: str, model: str, usage: dict[str, int], when: str, context: dict[str, object], expected: str
) -> None:
    record = GenAIRecord(
        operation="chat", provider=provider, request_model=model, has_usage=True, is_llm=True, **usage, **context
    )  # type: ignore[arg-type]
    at_ns = timegm(datetime.fromisoformat(when).timetuple()) * 10**9
    cost = Pricer().price(record, at_ns)
    assert cost.priced, f"{model} is not priced ({source})"
    assert cost.total == Decimal(expected), f"{model}: {cost.total} != {expected} per {source}"
