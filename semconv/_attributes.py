"""Every span attribute name llmobserve reads or writes, one constant each.

Spellings come from four conventions that coexist on the wire: OTel GenAI (current and
deprecated), OpenLLMetry (``llm.*``, ``traceloop.*``), OpenInference (``llm.token_count.*``,
``openinference.*``) and our own ``llmobserve.*``. The lookup tuples at the end list them in
the order ``normalize()`` trusts them: first present wins.
"""

from __future__ import annotations

from typing import Final

# OTel GenAI, current
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
"""Cache-inclusive input token count (OTel rule)."""
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
"""Output token count, reasoning tokens included."""
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
"""Newest spelling of cache-write tokens (unreleased spec)."""
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
"""Cache-write tokens as spelled by semconv v1.40-1.41."""
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"

# OTel GenAI, deprecated (and still sent by OpenLLMetry and older instrumentations)
GEN_AI_SYSTEM: Final = "gen_ai.system"
GEN_AI_USAGE_PROMPT_TOKENS: Final = "gen_ai.usage.prompt_tokens"
GEN_AI_USAGE_COMPLETION_TOKENS: Final = "gen_ai.usage.completion_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OLD: Final = "gen_ai.usage.cache_read_input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS_OLD: Final = "gen_ai.usage.cache_creation_input_tokens"
GEN_AI_USAGE_REASONING_TOKENS_OLD: Final = "gen_ai.usage.reasoning_tokens"
GEN_AI_USAGE_COST: Final = "gen_ai.usage.cost"
"""Client-computed cost in USD (OpenLIT)."""
GEN_AI_OPENAI_REQUEST_SERVICE_TIER: Final = "gen_ai.openai.request.service_tier"
OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"

# OpenLLMetry
LLM_REQUEST_TYPE: Final = "llm.request.type"
LLM_USAGE_REASONING_TOKENS: Final = "llm.usage.reasoning_tokens"
TRACELOOP_SPAN_KIND: Final = "traceloop.span.kind"
TRACELOOP_ENTITY_NAME: Final = "traceloop.entity.name"

# OpenInference
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
LLM_PROVIDER: Final = "llm.provider"
LLM_SYSTEM: Final = "llm.system"
LLM_MODEL_NAME: Final = "llm.model_name"
LLM_RESPONSE_MODEL_NAME: Final = "llm.response.model_name"
LLM_TOKEN_COUNT_PROMPT: Final = "llm.token_count.prompt"
LLM_TOKEN_COUNT_COMPLETION: Final = "llm.token_count.completion"
LLM_TOKEN_COUNT_CACHE_READ: Final = "llm.token_count.prompt_details.cache_read"
LLM_TOKEN_COUNT_CACHE_WRITE: Final = "llm.token_count.prompt_details.cache_write"
LLM_TOKEN_COUNT_REASONING: Final = "llm.token_count.completion_details.reasoning"
LLM_COST_TOTAL: Final = "llm.cost.total"
AGENT_NAME: Final = "agent.name"
TOOL_NAME: Final = "tool.name"

# General OTel
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"
HTTP_STATUS_CODE_OLD: Final = "http.status_code"
ERROR_TYPE: Final = "error.type"
SERVICE_NAME: Final = "service.name"

# Ours
LLMOBSERVE_CUSTOMER_ID: Final = "llmobserve.customer.id"
LLMOBSERVE_SECTION_PATH: Final = "llmobserve.section.path"
LLMOBSERVE_BATCH: Final = "llmobserve.batch"
"""True when the call was made through a provider's batch API (billed at the batch price)."""
LLMOBSERVE_USAGE_CACHE_WRITE_1H: Final = "llmobserve.usage.cache_write_1h.input_tokens"
"""Anthropic 1-hour cache writes: a subset of the cache-write tokens, priced at their own rate."""
LLMOBSERVE_STREAM_INCOMPLETE: Final = "llmobserve.stream.incomplete"
"""True when the app closed a streamed response before its end (usage may be missing)."""
LLMOBSERVE_PRICED_BY: Final = "llmobserve.priced_by"
"""Span id of another span that reports (and prices) the same model call: this one is not priced."""
LLMOBSERVE_CUSTOMER_ID_LEGACY: Final = "llmobserve.customer_id"
"""Underscore spelling some early clients (and the shared load generator) send."""
LLMOBSERVE_SECTION_PATH_LEGACY: Final = "llmobserve.section_path"

# Lookup order: first present wins.
OPERATION_KEYS: Final = (GEN_AI_OPERATION_NAME,)
PROVIDER_KEYS: Final = (GEN_AI_PROVIDER_NAME, GEN_AI_SYSTEM, LLM_PROVIDER, LLM_SYSTEM)
REQUEST_MODEL_KEYS: Final = (GEN_AI_REQUEST_MODEL, LLM_MODEL_NAME)
RESPONSE_MODEL_KEYS: Final = (GEN_AI_RESPONSE_MODEL, LLM_RESPONSE_MODEL_NAME)
INPUT_TOKEN_KEYS: Final = (GEN_AI_USAGE_INPUT_TOKENS, GEN_AI_USAGE_PROMPT_TOKENS, LLM_TOKEN_COUNT_PROMPT)
OUTPUT_TOKEN_KEYS: Final = (GEN_AI_USAGE_OUTPUT_TOKENS, GEN_AI_USAGE_COMPLETION_TOKENS, LLM_TOKEN_COUNT_COMPLETION)
CACHE_READ_KEYS: Final = (
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OLD,
    LLM_TOKEN_COUNT_CACHE_READ,
)
CACHE_WRITE_KEYS: Final = (
    GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS_OLD,
    LLM_TOKEN_COUNT_CACHE_WRITE,
)
REASONING_KEYS: Final = (
    GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    GEN_AI_USAGE_REASONING_TOKENS_OLD,
    LLM_USAGE_REASONING_TOKENS,
    LLM_TOKEN_COUNT_REASONING,
)
CLIENT_COST_KEYS: Final = (LLM_COST_TOTAL, GEN_AI_USAGE_COST)
SERVICE_TIER_KEYS: Final = (OPENAI_REQUEST_SERVICE_TIER, GEN_AI_OPENAI_REQUEST_SERVICE_TIER)
HTTP_STATUS_KEYS: Final = (HTTP_RESPONSE_STATUS_CODE, HTTP_STATUS_CODE_OLD)
CUSTOMER_KEYS: Final = (LLMOBSERVE_CUSTOMER_ID, LLMOBSERVE_CUSTOMER_ID_LEGACY)
SECTION_KEYS: Final = (LLMOBSERVE_SECTION_PATH, LLMOBSERVE_SECTION_PATH_LEGACY)
