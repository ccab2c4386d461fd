"""Every span attribute name llmobserve reads or writes, one constant each.

Spellings come from the conventions that coexist on the wire: OTel GenAI (current and
deprecated), OpenLLMetry (``llm.*``, ``traceloop.*``), OpenInference (``llm.token_count.*``,
``openinference.*``), the Vercel AI SDK (``ai.*``), Sentry's ``gen_ai.usage.*.cached`` and our own
``llmobserve.*``. The lookup tuples at the end list them in
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
# The run's metadata, one attribute per key, on every span under a LangChain / LangGraph root
TRACELOOP_USER_ID: Final = "traceloop.association.properties.user_id"
TRACELOOP_SESSION_ID: Final = "traceloop.association.properties.session_id"
TRACELOOP_THREAD_ID: Final = "traceloop.association.properties.thread_id"
"""LangGraph's ``configurable.thread_id``: its conversation."""
TRACELOOP_CONVERSATION_ID: Final = "traceloop.association.properties.conversation_id"
TRACELOOP_LANGGRAPH_NODE: Final = "traceloop.association.properties.langgraph_node"

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
GRAPH_NODE_ID: Final = "graph.node.id"
"""Names the agent on OpenInference AGENT spans that carry no ``agent.name`` (CrewAI, AutoGen)."""
OPENINFERENCE_METADATA: Final = "metadata"
"""A JSON object string; under LangChain it holds LangGraph's ``langgraph_node`` and ``ls_integration``."""

# Vercel AI SDK (``experimental_telemetry``): ``ai.generateText`` and the like are roll-ups of their
# ``ai.generateText.doGenerate`` / ``.doStream`` / ``.doEmbed`` children, which are the model calls.
AI_OPERATION_ID: Final = "ai.operationId"
AI_MODEL_PROVIDER: Final = "ai.model.provider"
"""``openai.chat``, ``groq.chat``, ``azure-openai.chat``, ...: see ``normalize_provider``."""
AI_MODEL_ID: Final = "ai.model.id"
AI_RESPONSE_MODEL: Final = "ai.response.model"
AI_TELEMETRY_FUNCTION_ID: Final = "ai.telemetry.functionId"
AI_TOOL_CALL_NAME: Final = "ai.toolCall.name"
AI_USAGE_INPUT_TOKENS: Final = "ai.usage.inputTokens"
"""Cache-inclusive (AI SDK 5+: ``inputTokenDetails`` splits it)."""
AI_USAGE_PROMPT_TOKENS: Final = "ai.usage.promptTokens"
"""AI SDK 4."""
AI_USAGE_OUTPUT_TOKENS: Final = "ai.usage.outputTokens"
AI_USAGE_COMPLETION_TOKENS: Final = "ai.usage.completionTokens"
AI_USAGE_CACHE_READ_TOKENS: Final = "ai.usage.inputTokenDetails.cacheReadTokens"
AI_USAGE_CACHED_INPUT_TOKENS: Final = "ai.usage.cachedInputTokens"
AI_USAGE_CACHE_WRITE_TOKENS: Final = "ai.usage.inputTokenDetails.cacheWriteTokens"
AI_USAGE_REASONING_DETAIL_TOKENS: Final = "ai.usage.outputTokenDetails.reasoningTokens"
AI_USAGE_REASONING_TOKENS: Final = "ai.usage.reasoningTokens"

# Sentry's GenAI spellings (also sent by its Vercel AI and OpenAI integrations)
SENTRY_USAGE_INPUT_CACHED: Final = "gen_ai.usage.input_tokens.cached"
SENTRY_USAGE_INPUT_CACHE_WRITE: Final = "gen_ai.usage.input_tokens.cache_write"
SENTRY_USAGE_OUTPUT_REASONING: Final = "gen_ai.usage.output_tokens.reasoning"

AI_TELEMETRY_METADATA_USER_ID: Final = "ai.telemetry.metadata.userId"
AI_TELEMETRY_METADATA_SESSION_ID: Final = "ai.telemetry.metadata.sessionId"

# End users, as other conventions name them
USER_ID: Final = "user.id"
ENDUSER_ID: Final = "enduser.id"
LANGFUSE_USER_ID: Final = "langfuse.user.id"

# Conversations (sessions), as other conventions name them
SESSION_ID: Final = "session.id"
"""OTel's session attribute; also OpenInference's."""
LANGFUSE_SESSION_ID: Final = "langfuse.session.id"

# General OTel
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"
HTTP_STATUS_CODE_OLD: Final = "http.status_code"
ERROR_TYPE: Final = "error.type"
SERVICE_NAME: Final = "service.name"

# Ours
LLMOBSERVE_CUSTOMER_ID: Final = "llmobserve.customer.id"
LLMOBSERVE_SECTION_PATH: Final = "llmobserve.section.path"
LLMOBSERVE_SESSION_ID: Final = "llmobserve.session.id"
LLMOBSERVE_BATCH: Final = "llmobserve.batch"
"""True when the call was made through a provider's batch API (billed at the batch price)."""
LLMOBSERVE_BATCH_ID: Final = "llmobserve.batch.id"
"""The provider's batch id, on a batch's create call and on each of its result spans."""
LLMOBSERVE_BATCH_CUSTOM_ID: Final = "llmobserve.batch.custom_id"
"""The app's ``custom_id`` of one request in a batch, on its result span."""
LLMOBSERVE_BATCH_RESULTS: Final = "llmobserve.batch.results"
"""On a results download span: how many result spans it produced (``.failed``: of them failed;
``.skipped``: lines too long to read)."""
LLMOBSERVE_BATCH_RESULTS_FAILED: Final = "llmobserve.batch.results.failed"
LLMOBSERVE_BATCH_RESULTS_SKIPPED: Final = "llmobserve.batch.results.skipped"
LLMOBSERVE_USAGE_CACHE_WRITE_1H: Final = "llmobserve.usage.cache_write_1h.input_tokens"
"""Anthropic 1-hour cache writes: a subset of the cache-write tokens, priced at their own rate."""
LLMOBSERVE_STREAM_INCOMPLETE: Final = "llmobserve.stream.incomplete"
"""True when the app closed a streamed response before its end (usage may be missing)."""
LLMOBSERVE_PRICED_BY: Final = "llmobserve.priced_by"
"""Span id of another span that reports (and prices) the same model call: this one is not priced."""
LLMOBSERVE_DUPLICATE_OF: Final = "llmobserve.duplicate_of"
"""``<trace id>/<span id>`` of the report, in another trace, that is charged for this same model call."""
LLMOBSERVE_DUPLICATE_CAUSE: Final = "llmobserve.duplicate.cause"
"""Why two reports of one call were in two traces (e.g. two instrumentations, context lost between them)."""
LLMOBSERVE_CUSTOMER_ID_LEGACY: Final = "llmobserve.customer_id"
"""Underscore spelling some early clients (and the shared load generator) send."""
LLMOBSERVE_SECTION_PATH_LEGACY: Final = "llmobserve.section_path"

# Lookup order: first present wins.
OPERATION_KEYS: Final = (GEN_AI_OPERATION_NAME,)
PROVIDER_KEYS: Final = (GEN_AI_PROVIDER_NAME, GEN_AI_SYSTEM, LLM_PROVIDER, LLM_SYSTEM, AI_MODEL_PROVIDER)
REQUEST_MODEL_KEYS: Final = (GEN_AI_REQUEST_MODEL, LLM_MODEL_NAME, AI_MODEL_ID)
RESPONSE_MODEL_KEYS: Final = (GEN_AI_RESPONSE_MODEL, LLM_RESPONSE_MODEL_NAME, AI_RESPONSE_MODEL)
INPUT_TOKEN_KEYS: Final = (
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_PROMPT_TOKENS,
    LLM_TOKEN_COUNT_PROMPT,
    AI_USAGE_INPUT_TOKENS,
    AI_USAGE_PROMPT_TOKENS,
)
OUTPUT_TOKEN_KEYS: Final = (
    GEN_AI_USAGE_OUTPUT_TOKENS,
    GEN_AI_USAGE_COMPLETION_TOKENS,
    LLM_TOKEN_COUNT_COMPLETION,
    AI_USAGE_OUTPUT_TOKENS,
    AI_USAGE_COMPLETION_TOKENS,
)
CACHE_READ_KEYS: Final = (
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OLD,
    LLM_TOKEN_COUNT_CACHE_READ,
    SENTRY_USAGE_INPUT_CACHED,
    AI_USAGE_CACHE_READ_TOKENS,
    AI_USAGE_CACHED_INPUT_TOKENS,
)
CACHE_WRITE_KEYS: Final = (
    GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS_OLD,
    LLM_TOKEN_COUNT_CACHE_WRITE,
    SENTRY_USAGE_INPUT_CACHE_WRITE,
    AI_USAGE_CACHE_WRITE_TOKENS,
)
REASONING_KEYS: Final = (
    GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    GEN_AI_USAGE_REASONING_TOKENS_OLD,
    LLM_USAGE_REASONING_TOKENS,
    LLM_TOKEN_COUNT_REASONING,
    SENTRY_USAGE_OUTPUT_REASONING,
    AI_USAGE_REASONING_DETAIL_TOKENS,
    AI_USAGE_REASONING_TOKENS,
)
CLIENT_COST_KEYS: Final = (LLM_COST_TOTAL, GEN_AI_USAGE_COST)
SERVICE_TIER_KEYS: Final = (OPENAI_REQUEST_SERVICE_TIER, GEN_AI_OPENAI_REQUEST_SERVICE_TIER)
HTTP_STATUS_KEYS: Final = (HTTP_RESPONSE_STATUS_CODE, HTTP_STATUS_CODE_OLD)
CUSTOMER_KEYS: Final = (
    LLMOBSERVE_CUSTOMER_ID,
    LLMOBSERVE_CUSTOMER_ID_LEGACY,
    ENDUSER_ID,
    USER_ID,
    LANGFUSE_USER_ID,
    AI_TELEMETRY_METADATA_USER_ID,
    TRACELOOP_USER_ID,
)
"""Who the work is for: ours first, then the conventions apps already set (OTel ``user.id`` /
``enduser.id``, also OpenInference's ``user.id``; Langfuse; the Vercel AI SDK's ``metadata.userId``;
OpenLLMetry's copy of a LangChain run's ``metadata.user_id``)."""
SESSION_KEYS: Final = (
    LLMOBSERVE_SESSION_ID,
    GEN_AI_CONVERSATION_ID,
    SESSION_ID,
    LANGFUSE_SESSION_ID,
    AI_TELEMETRY_METADATA_SESSION_ID,
    TRACELOOP_SESSION_ID,
    TRACELOOP_THREAD_ID,
    TRACELOOP_CONVERSATION_ID,
)
"""Which conversation the work belongs to: ours first, then OTel GenAI's ``gen_ai.conversation.id`` (Pydantic AI
sets it on every span), OTel/OpenInference ``session.id``, Langfuse, the Vercel AI SDK's ``metadata.sessionId``,
OpenLLMetry's copies of a LangChain run's ``session_id`` / ``thread_id`` / ``conversation_id`` (the keys
OpenInference's LangChain tracer reads as its ``session.id``)."""
SECTION_KEYS: Final = (LLMOBSERVE_SECTION_PATH, LLMOBSERVE_SECTION_PATH_LEGACY)
