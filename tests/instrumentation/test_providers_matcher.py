"""Which URLs are provider calls, as what provider, operation and wire format."""

from __future__ import annotations

import pytest

from llmobserve.instrumentation._providers import ProviderMatcher

M = ProviderMatcher(
    {"http://vllm.internal:8000/v1": "openai", "http://gw:9/anthropic": "anthropic", "http://gw:9/gemini": "gemini"}
)


def _match(url: str):  # type: ignore[no-untyped-def]
    from urllib.parse import urlparse

    parsed = urlparse(url)
    host = parsed.hostname or ""
    found = M.match(url, f"{host}:{parsed.port}" if parsed.port else host, parsed.path)
    if found is None and parsed.port:
        found = M.match(url, host, parsed.path)
    return found and (found.provider, found.operation, found.flavor, found.model_in_path, found.batch)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://api.openai.com/v1/chat/completions", ("openai", "chat", "openai", "", False)),
        ("https://api.openai.com/v1/responses", ("openai", "chat", "openai", "", False)),
        ("https://api.openai.com/v1/embeddings", ("openai", "embeddings", "openai", "", False)),
        ("https://api.openai.com/v1/completions", ("openai", "text_completion", "openai", "", False)),
        ("https://api.openai.com/v1/batches", ("openai", "batch", "openai", "", True)),
        (
            "https://acme.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21",
            ("azure.ai.openai", "chat", "openai", "prod-4o", False),
        ),
        ("https://acme.openai.azure.com/openai/v1/chat/completions", ("azure.ai.openai", "chat", "openai", "", False)),
        ("https://api.anthropic.com/v1/messages", ("anthropic", "chat", "anthropic", "", False)),
        (
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            ("gcp.gemini", "generate_content", "gemini", "gemini-2.0-flash", False),
        ),
        (
            "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/"
            "gemini-1.5-pro:generateContent",
            ("gcp.vertex_ai", "generate_content", "gemini", "gemini-1.5-pro", False),
        ),
        ("https://api.mistral.ai/v1/chat/completions", ("mistral_ai", "chat", "openai", "", False)),
        ("https://api.cohere.com/v2/chat", ("cohere", "chat", "cohere", "", False)),
        ("https://api.groq.com/openai/v1/chat/completions", ("groq", "chat", "openai", "", False)),
        ("https://api.together.xyz/v1/chat/completions", ("together", "chat", "openai", "", False)),
        ("https://api.fireworks.ai/inference/v1/chat/completions", ("fireworks", "chat", "openai", "", False)),
        ("https://api.deepseek.com/chat/completions", ("deepseek", "chat", "openai", "", False)),
        ("https://api.x.ai/v1/chat/completions", ("x_ai", "chat", "openai", "", False)),
        ("https://openrouter.ai/api/v1/chat/completions", ("openrouter", "chat", "openai", "", False)),
        ("https://api.perplexity.ai/chat/completions", ("perplexity", "chat", "openai", "", False)),
        ("http://localhost:11434/v1/chat/completions", ("ollama", "chat", "openai", "", False)),
        ("http://vllm.internal:8000/v1/chat/completions", ("openai", "chat", "openai", "", False)),
        ("http://gw:9/anthropic/v1/messages", ("anthropic", "chat", "anthropic", "", False)),
        (
            "http://gw:9/gemini/v1beta/models/gemini-1.5-pro:generateContent",
            ("gcp.gemini", "generate_content", "gemini", "gemini-1.5-pro", False),
        ),
    ],
)
def test_provider_calls_are_recognised(url: str, expected) -> None:  # type: ignore[no-untyped-def]
    assert _match(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1/models",
        "https://api.openai.com/v1/files",
        "https://api.anthropic.com/v1/messages/count_tokens",
        "https://example.com/v1/chat/completions",
        "http://vllm.internal:8001/v1/chat/completions",
        "https://generativelanguage.googleapis.com/v1beta/models",
    ],
)
def test_other_calls_are_left_alone(url: str) -> None:
    assert not _match(url)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://api.openai.com/v1/batches", ("openai", "batches", "")),
        ("https://api.openai.com/v1/batches/batch_abc", ("openai", "batch_retrieve", "batch_abc")),
        ("https://api.openai.com/v1/files/file-abc/content", ("openai", "batch_results", "file-abc")),
        (
            "https://acme.openai.azure.com/openai/files/file-abc/content?api-version=2024-10-21",
            ("azure.ai.openai", "batch_results", "file-abc"),
        ),
        ("https://api.anthropic.com/v1/messages/batches", ("anthropic", "batches", "")),
        (
            "https://api.anthropic.com/v1/messages/batches/msgbatch_01/results",
            ("anthropic", "batch_results", "msgbatch_01"),
        ),
        (
            "http://gw:9/anthropic/v1/messages/batches/msgbatch_01/results",
            ("anthropic", "batch_results", "msgbatch_01"),
        ),
    ],
)
def test_batch_calls_are_recognised(url: str, expected) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import urlparse

    parsed = urlparse(url)
    found = M.match(url, parsed.hostname or "", parsed.path)
    assert found is not None and found.batch and (found.provider, found.endpoint, found.batch_ref) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1/batches/batch_abc/cancel",
        "https://api.openai.com/v1/files/file-abc",
        "https://api.anthropic.com/v1/messages/batches/msgbatch_01",  # a poll: its URL already names the batch
    ],
)
def test_other_batch_calls_are_left_alone(url: str) -> None:
    assert not _match(url)
