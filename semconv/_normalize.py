"""Turn one span's attributes, in any supported convention, into a ``GenAIRecord``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from . import _attributes as a
from ._record import GenAIRecord

__all__ = [
    "AI_SDK_ROLLUPS",
    "customer_of",
    "session_of",
    "normalize",
    "agent_from_section",
    "tool_from_section",
    "normalize_provider",
]

# Operations whose spans are one billable model call.
INFERENCE_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings", "completion", "rerank"})
# Operations that group other spans; usage they carry is a roll-up of their children, so it is never priced.
GROUPING_OPERATIONS = frozenset(
    {"invoke_agent", "create_agent", "invoke_workflow", "execute_tool", "retrieval", "chain", "task", "plan"}
)

# Deprecated and third-party provider spellings → the OTel `gen_ai.provider.name` value.
_PROVIDER_ALIASES = {
    "xai": "x_ai",
    "x-ai": "x_ai",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "google": "gcp.gen_ai",
    "az.ai.openai": "azure.ai.openai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "az.ai.inference": "azure.ai.inference",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "aws": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "watsonx": "ibm.watsonx.ai",
    "moonshot": "moonshot_ai",
}

# OTel provider names that hold a dot themselves: never read as "<provider>.<api>" below.
_DOTTED_NAMES = frozenset(
    {
        "gcp.gemini",
        "gcp.vertex_ai",
        "gcp.gen_ai",
        "azure.ai.openai",
        "azure.ai.inference",
        "aws.bedrock",
        "ibm.watsonx.ai",
    }
)
# The Vercel AI SDK names a provider "<provider>.<api>" (`openai.chat`, `openai.responses`,
# `groq.chat`, `azure-openai.chat`, `google.generative-ai`, `google.vertex.chat`, ...).
_AI_SDK_PROVIDERS = {
    "openai": "openai",
    "azure-openai": "azure.ai.openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "google": "gcp.gemini",
    "google.vertex": "gcp.vertex_ai",
    "vertex": "gcp.vertex_ai",
    "amazon-bedrock": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "cohere": "cohere",
    "togetherai": "together_ai",
    "fireworks": "fireworks",
    "perplexity": "perplexity",
    "cerebras": "cerebras",
    "openrouter": "openrouter",
}

# AI SDK provider names seen without an API suffix.
_AI_SDK_BARE = frozenset({"amazon-bedrock", "azure-openai", "togetherai"})

# The Vercel AI SDK's `ai.operationId`: the inner spans are the model calls, the outer ones roll them up.
_AI_SDK_CALLS = {".doGenerate": "chat", ".doStream": "chat", ".doEmbed": "embeddings"}
AI_SDK_ROLLUPS = frozenset(
    {"ai.generateText", "ai.streamText", "ai.generateObject", "ai.streamObject", "ai.embed", "ai.embedMany"}
)

# OpenLLMetry `llm.request.type` and OpenInference / Traceloop span kinds → OTel operation names.
_OPERATION_ALIASES = {
    "completion": "text_completion",
    "embedding": "embeddings",
    "llm": "chat",
    "agent": "invoke_agent",
    "tool": "execute_tool",
    "retriever": "retrieval",
    "workflow": "invoke_workflow",
    "reranker": "rerank",
}

_TRUE = frozenset({True, "true", "True", "TRUE", "1"})  # True also matches 1


def _first(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def _count(value: Any) -> int:
    """A token count as a non-negative int; garbage counts as absent (0)."""
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value if value > 0 else 0
    try:
        number = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return 0
    return number if number > 0 else 0


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def normalize_provider(value: str) -> str:
    """Lower-cased OTel provider name for any known spelling; unknown names pass through."""
    low = value.strip().lower()
    if low in _PROVIDER_ALIASES:
        return _PROVIDER_ALIASES[low]
    if low in _DOTTED_NAMES:
        return low
    if "." not in low:
        return _AI_SDK_PROVIDERS.get(low, low) if low in _AI_SDK_BARE else low
    head, _, rest = low.partition(".")
    if head == "google" and rest.startswith("vertex"):
        return _AI_SDK_PROVIDERS["google.vertex"]
    return _AI_SDK_PROVIDERS.get(head, low)


def _operation(attrs: Mapping[str, Any]) -> str:
    op = attrs.get(a.GEN_AI_OPERATION_NAME)
    if op:
        return str(op)
    for key in (a.LLM_REQUEST_TYPE, a.OPENINFERENCE_SPAN_KIND, a.TRACELOOP_SPAN_KIND):
        raw = attrs.get(key)
        if raw:
            low = str(raw).lower()
            return _OPERATION_ALIASES.get(low, low)
    ai_sdk = attrs.get(a.AI_OPERATION_ID)
    if ai_sdk:
        text = str(ai_sdk)
        if text == "ai.toolCall":
            return "execute_tool"
        for suffix, operation in _AI_SDK_CALLS.items():
            if text.endswith(suffix):
                return operation
        return text  # a roll-up (AI_SDK_ROLLUPS) or an id we do not know: never priced by name alone
    return ""


def _innermost(path: str, prefix: str) -> str:
    for segment in reversed(path.split("/")):
        if segment.startswith(prefix):
            return segment[len(prefix) :]
    return ""


def agent_from_section(path: str) -> str:
    """The innermost ``agent:`` segment of a section path (``agent:a/agent:b/tool:t`` → ``b``)."""
    return _innermost(path, "agent:") if path else ""


def tool_from_section(path: str) -> str:
    """The innermost ``tool:`` segment of a section path."""
    return _innermost(path, "tool:") if path else ""


def customer_of(attrs: Mapping[str, Any], keys: tuple[str, ...] = a.CUSTOMER_KEYS) -> str:
    """The customer named by a set of attributes (a span's or a resource's): the first of ``keys``
    present (``CUSTOMER_KEYS`` by default; a tenant may set its own list)."""
    return _text(_first(attrs, keys))


def session_of(attrs: Mapping[str, Any], keys: tuple[str, ...] = a.SESSION_KEYS) -> str:
    """The conversation named by a set of attributes: the first of ``keys`` present."""
    return _text(_first(attrs, keys))


def _client_cost(attrs: Mapping[str, Any]) -> Decimal | None:
    raw = _first(attrs, a.CLIENT_COST_KEYS)
    if raw is None or isinstance(raw, bool):
        return None
    try:
        cost = Decimal(str(raw))
    except InvalidOperation:
        return None
    return cost if cost.is_finite() and cost >= 0 else None


# Every multi-spelling field: its slot in the lookup and its spellings, most trusted first.
_FIELDS: tuple[tuple[str, ...], ...] = (
    a.PROVIDER_KEYS,
    a.REQUEST_MODEL_KEYS,
    a.RESPONSE_MODEL_KEYS,
    a.SECTION_KEYS,
    a.CUSTOMER_KEYS,
    a.SESSION_KEYS,
    a.INPUT_TOKEN_KEYS,
    a.OUTPUT_TOKEN_KEYS,
    a.CACHE_READ_KEYS,
    a.CACHE_WRITE_KEYS,
    a.REASONING_KEYS,
    a.SERVICE_TIER_KEYS,
    a.HTTP_STATUS_KEYS,
)
(
    _PROVIDER,
    _REQUEST_MODEL,
    _RESPONSE_MODEL,
    _SECTION,
    _CUSTOMER,
    _SESSION,
    _INPUT,
    _OUTPUT,
    _CACHE_READ,
    _CACHE_WRITE,
    _REASONING,
    _SERVICE_TIER,
    _HTTP_STATUS,
) = range(len(_FIELDS))
# key -> (field slot, rank); lower rank wins.
_SPELLINGS: dict[str, tuple[int, int]] = {
    key: (slot, rank) for slot, keys in enumerate(_FIELDS) for rank, key in enumerate(keys)
}
_KNOWN = frozenset(_SPELLINGS)


def _pick(attrs: Mapping[str, Any]) -> list[Any]:
    """Each field's value from its most trusted present spelling (None when absent).

    One C-level set intersection finds the few known keys among a span's attributes; this is
    the receiver's hot path, and it is ~2x faster than probing every spelling of every field.
    """
    found: list[Any] = [None] * len(_FIELDS)
    ranks = [len(_KNOWN)] * len(_FIELDS)
    for key in _KNOWN.intersection(attrs):
        value = attrs[key]
        if value is None or value == "":
            continue
        slot, rank = _SPELLINGS[key]
        if rank < ranks[slot]:
            found[slot] = value
            ranks[slot] = rank
    return found


_MAX_METADATA = 65_536  # a LangChain run's metadata JSON is parsed only below this size


def _langgraph(attrs: Mapping[str, Any]) -> tuple[bool, str]:
    """(whether the span is a LangGraph graph run, the LangGraph node it runs in), from OpenLLMetry's
    association properties or OpenInference's ``metadata`` JSON (parsed only when it names LangGraph)."""
    node = attrs.get(a.TRACELOOP_LANGGRAPH_NODE)
    if node:
        return False, _text(node)
    meta = attrs.get(a.OPENINFERENCE_METADATA)
    if not isinstance(meta, str) or "langgraph" not in meta or len(meta) > _MAX_METADATA:
        return False, ""
    try:
        data = json.loads(meta)
    except ValueError:
        return False, ""
    if not isinstance(data, dict):
        return False, ""
    if data.get("langgraph_node"):
        return False, _text(data["langgraph_node"])
    return data.get("ls_integration") == "langgraph", ""


def normalize(attrs: Mapping[str, Any], name: str = "") -> GenAIRecord:
    """Read one span's attributes into a ``GenAIRecord`` (first present spelling wins). ``name`` is
    the span's name, which names the agent of a LangGraph graph run traced by OpenInference."""
    f = _pick(attrs)
    rec = GenAIRecord()
    rec.operation = operation = _operation(attrs)
    provider = f[_PROVIDER]
    if provider is not None:
        rec.provider = normalize_provider(str(provider))
    rec.request_model = _text(f[_REQUEST_MODEL])
    rec.response_model = _text(f[_RESPONSE_MODEL])

    section = _text(f[_SECTION])
    rec.customer = _text(f[_CUSTOMER])
    rec.session = _text(f[_SESSION])
    kind = attrs.get(a.TRACELOOP_SPAN_KIND)
    agent = (
        attrs.get(a.GEN_AI_AGENT_NAME)
        or (kind == "agent" and attrs.get(a.TRACELOOP_ENTITY_NAME))
        or attrs.get(a.AGENT_NAME)
        or (attrs.get(a.OPENINFERENCE_SPAN_KIND) == "AGENT" and attrs.get(a.GRAPH_NODE_ID))
    )
    rec.agent = _text(agent) if agent else agent_from_section(section) or _text(attrs.get(a.AI_TELEMETRY_FUNCTION_ID))
    if not section and (a.OPENINFERENCE_METADATA in attrs or a.TRACELOOP_LANGGRAPH_NODE in attrs):
        # LangGraph: the graph is an agent, each node a section under it ("node:<n>" is completed
        # with its agent's section when the span inherits the agent)
        graph, node = _langgraph(attrs)
        if node:
            section = f"node:{node}"
        elif graph and name and not rec.agent:
            rec.agent, section = name, f"agent:{name}"
    rec.section_path = section
    tool = (
        attrs.get(a.GEN_AI_TOOL_NAME)
        or (kind == "tool" and attrs.get(a.TRACELOOP_ENTITY_NAME))
        or attrs.get(a.TOOL_NAME)
        or attrs.get(a.AI_TOOL_CALL_NAME)
    )
    rec.tool = _text(tool) if tool else tool_from_section(section)

    raw_in, raw_out, raw_read, raw_write, raw_reason = f[_INPUT : _REASONING + 1]
    rec.has_usage = not (
        raw_in is None and raw_out is None and raw_read is None and raw_write is None and raw_reason is None
    )
    rec.input_tokens = _count(raw_in)
    rec.output_tokens = _count(raw_out)
    rec.cache_read_tokens = _count(raw_read)
    rec.cache_write_tokens = _count(raw_write)
    rec.reasoning_tokens = _count(raw_reason)
    rec.cache_write_1h_tokens = min(_count(attrs.get(a.LLMOBSERVE_USAGE_CACHE_WRITE_1H)), rec.cache_write_tokens)
    # Cache counts are subsets of the input; a sender that reports more cache than input is
    # wrong somewhere, and trusting the input count would price negative uncached tokens.
    if rec.cache_read_tokens + rec.cache_write_tokens > rec.input_tokens:
        rec.input_tokens = rec.cache_read_tokens + rec.cache_write_tokens
    if rec.reasoning_tokens > rec.output_tokens:
        rec.output_tokens = rec.reasoning_tokens

    rec.client_cost = _client_cost(attrs)
    try:
        rec.is_batch = attrs.get(a.LLMOBSERVE_BATCH) in _TRUE
    except TypeError:  # unhashable garbage, e.g. an array-valued attribute
        rec.is_batch = False
    rec.service_tier = _text(f[_SERVICE_TIER])
    rec.http_status = _count(f[_HTTP_STATUS])
    rec.error_type = _text(attrs.get(a.ERROR_TYPE))

    if attrs.get(a.LLMOBSERVE_PRICED_BY) or attrs.get(a.LLMOBSERVE_DUPLICATE_OF):
        rec.is_llm = False  # the same call is reported, and priced, by the span named there
    elif operation in INFERENCE_OPERATIONS:
        rec.is_llm = True
    elif operation in GROUPING_OPERATIONS or operation in AI_SDK_ROLLUPS:
        rec.is_llm = False
    else:
        rec.is_llm = rec.has_usage and bool(rec.request_model or rec.response_model or rec.provider)
    return rec
