"""The Vercel AI SDK's spans, as `ai` 6 emits them (captured from `generateText` against the stand-in):
the inner `doGenerate` span is the model call, the outer `ai.generateText` rolls it up."""

from __future__ import annotations

import pytest

from llmobserve.semconv import normalize, normalize_provider

COMMON = {
    "ai.telemetry.functionId": "support-reply",
    "ai.model.provider": "openai.chat",
    "ai.model.id": "gpt-4o",
    "ai.telemetry.metadata.userId": "u2",
    "ai.telemetry.metadata.sessionId": "s2",
    "ai.usage.inputTokens": 1200,
    "ai.usage.inputTokenDetails.noCacheTokens": 800,
    "ai.usage.inputTokenDetails.cacheReadTokens": 400,
    "ai.usage.outputTokens": 150,
    "ai.usage.outputTokenDetails.textTokens": 130,
    "ai.usage.outputTokenDetails.reasoningTokens": 20,
    "ai.usage.totalTokens": 1350,
    "ai.usage.reasoningTokens": 20,
    "ai.usage.cachedInputTokens": 400,
}
INNER = {
    **COMMON,
    "ai.operationId": "ai.generateText.doGenerate",
    "gen_ai.system": "openai.chat",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o",
    "ai.response.model": "gpt-4o",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 150,
}
OUTER = {**COMMON, "ai.operationId": "ai.generateText"}


def test_the_inner_span_is_one_priced_call_with_its_cache_and_reasoning() -> None:
    rec = normalize(INNER)
    assert (rec.is_llm, rec.operation, rec.provider, rec.request_model) == (True, "chat", "openai", "gpt-4o")
    assert (rec.input_tokens, rec.output_tokens, rec.cache_read_tokens, rec.reasoning_tokens) == (1200, 150, 400, 20)
    assert rec.agent == "support-reply"


def test_the_outer_span_is_a_roll_up_and_never_priced() -> None:
    rec = normalize(OUTER)
    assert rec.is_llm is False and rec.operation == "ai.generateText"
    assert normalize({**OUTER, "ai.operationId": "ai.streamText"}).is_llm is False
    assert normalize({**INNER, "ai.operationId": "ai.streamText.doStream"}).is_llm is True
    assert normalize({**INNER, "ai.operationId": "ai.embedMany.doEmbed"}).operation == "embeddings"


def test_ai_sdk_4_usage_spellings() -> None:
    rec = normalize(
        {
            "ai.operationId": "ai.generateText.doGenerate",
            "ai.model.provider": "anthropic.messages",
            "ai.model.id": "claude-3-5-haiku-20241022",
            "ai.usage.promptTokens": 10,
            "ai.usage.completionTokens": 5,
        }
    )
    assert (rec.is_llm, rec.provider, rec.input_tokens, rec.output_tokens) == (True, "anthropic", 10, 5)


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("openai.chat", "openai"),
        ("openai.responses", "openai"),
        ("openai.embedding", "openai"),
        ("groq.chat", "groq"),
        ("xai.chat", "x_ai"),
        ("deepseek.chat", "deepseek"),
        ("azure-openai.chat", "azure.ai.openai"),
        ("azure.chat", "azure.ai.openai"),
        ("anthropic.messages", "anthropic"),
        ("google.generative-ai", "gcp.gemini"),
        ("google.vertex.chat", "gcp.vertex_ai"),
        ("mistral.chat", "mistral_ai"),
        ("amazon-bedrock", "aws.bedrock"),
        ("togetherai.chat", "together_ai"),
        ("cohere.chat", "cohere"),
        # OTel's own dotted names and unknown names stay as they are
        ("gcp.gemini", "gcp.gemini"),
        ("azure.ai.openai", "azure.ai.openai"),
        ("aws.bedrock", "aws.bedrock"),
        ("ibm.watsonx.ai", "ibm.watsonx.ai"),
        ("acme.chat", "acme.chat"),
        ("OpenAI", "openai"),
    ],
)
def test_provider_spellings(spelling: str, canonical: str) -> None:
    assert normalize_provider(spelling) == canonical


@pytest.mark.parametrize("key", ["ai.telemetry.metadata.userId", "user.id", "enduser.id", "langfuse.user.id"])
def test_customer_from_the_conventions_apps_already_use(key: str) -> None:
    assert normalize({**INNER, key: "u9"} if key != "ai.telemetry.metadata.userId" else INNER).customer == (
        "u2" if key == "ai.telemetry.metadata.userId" else "u9"
    )
    assert normalize({**INNER, key: "u9", "llmobserve.customer.id": "ours"}).customer == "ours"
