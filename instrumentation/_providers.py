"""Which HTTP calls are LLM provider calls, and how to read them.

A call is recognised by host (the providers' public API hosts) or by a base URL the user
registered with ``observe(provider_urls=...)``; its path then says the operation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Call", "ProviderMatcher", "FLAVORS"]

# Wire formats we can read usage from.
FLAVORS = ("openai", "anthropic", "gemini", "cohere")

_HOSTS: dict[str, str] = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "generativelanguage.googleapis.com": "gcp.gemini",
    "aiplatform.googleapis.com": "gcp.vertex_ai",
    "api.mistral.ai": "mistral_ai",
    "api.cohere.com": "cohere",
    "api.cohere.ai": "cohere",
    "api.groq.com": "groq",
    "api.together.xyz": "together",
    "api.together.ai": "together",
    "api.fireworks.ai": "fireworks",
    "api.deepseek.com": "deepseek",
    "api.x.ai": "x_ai",
    "openrouter.ai": "openrouter",
    "api.perplexity.ai": "perplexity",
    "localhost:11434": "ollama",
    "127.0.0.1:11434": "ollama",
}
_HOST_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".openai.azure.com", "azure.ai.openai"),
    (".cognitiveservices.azure.com", "azure.ai.openai"),
    ("-aiplatform.googleapis.com", "gcp.vertex_ai"),
)
_FLAVOR_OF_PROVIDER = {
    "anthropic": "anthropic",
    "gcp.gemini": "gemini",
    "gcp.vertex_ai": "gemini",
    "gcp.gen_ai": "gemini",
    "gemini": "gemini",
    "cohere": "cohere",
}
_PROVIDER_ALIASES = {
    "gemini": "gcp.gemini",
    "google": "gcp.gemini",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "azure": "azure.ai.openai",
}

_GEMINI_PATH = re.compile(r"/models/([^/:]+):(generateContent|streamGenerateContent|embedContent|batchEmbedContents)$")
_AZURE_DEPLOYMENT = re.compile(r"/openai/deployments/([^/]+)/")
# Batch APIs: the id in the path is a batch id (retrieve, Anthropic results) or a file id (OpenAI results).
_OPENAI_BATCH = re.compile(r"/batches/([^/]+)$")
_OPENAI_FILE_CONTENT = re.compile(r"/files/([^/]+)/content$")
_ANTHROPIC_RESULTS = re.compile(r"/messages/batches/([^/]+)/results$")


@dataclass(frozen=True, slots=True)
class Call:
    """A recognised provider call."""

    provider: str  # OTel gen_ai.provider.name
    flavor: str  # one of FLAVORS
    operation: str  # OTel gen_ai.operation.name
    model_in_path: str = ""  # Gemini puts the model in the path; Azure the deployment
    batch: bool = False  # a Batch API call (its results are billed at the batch price)
    endpoint: str = ""  # "chat", "responses", ..., or for batches "batches", "batch_retrieve", "batch_results"
    batch_ref: str = ""  # the batch id (or, for OpenAI results, the file id) named in the path


def _operation(flavor: str, path: str) -> tuple[str, str, str, bool, str] | None:
    """(operation, endpoint, model in path, batch, batch ref) for a path, or None if it is no model call."""
    if flavor == "gemini":
        found = _GEMINI_PATH.search(path)
        if not found:
            return None
        model, method = found.groups()
        if method in ("embedContent", "batchEmbedContents"):
            return "embeddings", method, model, False, ""
        return "generate_content", method, model, False, ""
    if flavor == "anthropic":
        if path.endswith("/messages"):
            return "chat", "messages", "", False, ""
        if path.endswith("/messages/batches"):
            return "batch", "batches", "", True, ""
        found = _ANTHROPIC_RESULTS.search(path)
        if found:
            return "batch", "batch_results", "", True, found.group(1)
        return None
    if flavor == "cohere":
        if path.endswith("/chat"):
            return "chat", "chat", "", False, ""
        if path.endswith("/embed"):
            return "embeddings", "embed", "", False, ""
        return None
    deployment = _AZURE_DEPLOYMENT.search(path)
    model = deployment.group(1) if deployment else ""
    if path.endswith("/chat/completions"):
        return "chat", "chat", model, False, ""
    if path.endswith("/responses"):
        return "chat", "responses", model, False, ""
    if path.endswith("/embeddings"):
        return "embeddings", "embeddings", model, False, ""
    if path.endswith("/completions"):
        return "text_completion", "completions", model, False, ""
    if path.endswith("/batches"):
        return "batch", "batches", "", True, ""
    found = _OPENAI_BATCH.search(path)
    if found:
        return "batch", "batch_retrieve", "", True, found.group(1)
    found = _OPENAI_FILE_CONTENT.search(path)
    if found:  # any file's content: only a batch's output or error file yields result spans
        return "batch", "batch_results", "", True, found.group(1)
    return None


class ProviderMatcher:
    """URL → ``Call``; registered base URLs win over the built-in host table."""

    def __init__(self, provider_urls: dict[str, str] | None = None) -> None:
        self._prefixes: list[tuple[str, str]] = []
        for base, provider in (provider_urls or {}).items():
            name = _PROVIDER_ALIASES.get(provider.strip().lower(), provider.strip().lower())
            self._prefixes.append((base.rstrip("/"), name))
        self._prefixes.sort(key=lambda item: -len(item[0]))  # longest prefix first

    def match(self, url: str, host: str, path: str) -> Call | None:
        provider = None
        for prefix, name in self._prefixes:
            if url.startswith(prefix):
                provider = name
                path = url[len(prefix) :].split("?", 1)[0] or "/"
                if not path.startswith("/"):
                    path = "/" + path
                break
        if provider is None:
            provider = _HOSTS.get(host)
            if provider is None:
                for suffix, name in _HOST_SUFFIXES:
                    if host.endswith(suffix):
                        provider = name
                        break
            if provider is None:
                return None
        flavor = _FLAVOR_OF_PROVIDER.get(provider, "openai")
        found = _operation(flavor, path)
        if found is None:
            return None
        operation, endpoint, model, batch, ref = found
        return Call(provider, flavor, operation, model, batch, endpoint, ref)
