"""``semconv.normalize``: token counts in every spelling, precedence, robustness and ``is_llm``.

Attribute names are written out literally (copied from the reference table of spellings) rather
than taken from ``semconv.attributes``, so a typo in a constant fails here instead of passing.
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from typing import Any

import pytest

from llmobserve.semconv import GenAIRecord, normalize
from llmobserve.semconv import attributes as a

# --------------------------------------------------------------------------------------------
# One case per token-count spelling in the reference table
# --------------------------------------------------------------------------------------------

TOKEN_SPELLINGS = [
    # (attribute, record field)
    # input tokens
    ("gen_ai.usage.input_tokens", "input_tokens"),  # OTel current
    ("gen_ai.usage.prompt_tokens", "input_tokens"),  # OTel deprecated / OpenLLMetry
    ("llm.token_count.prompt", "input_tokens"),  # OpenInference
    ("ai.usage.inputTokens", "input_tokens"),  # Vercel AI SDK 5+
    ("ai.usage.promptTokens", "input_tokens"),  # Vercel AI SDK 4
    # output tokens
    ("gen_ai.usage.output_tokens", "output_tokens"),
    ("gen_ai.usage.completion_tokens", "output_tokens"),
    ("llm.token_count.completion", "output_tokens"),
    ("ai.usage.outputTokens", "output_tokens"),
    ("ai.usage.completionTokens", "output_tokens"),
    # cache read
    ("gen_ai.usage.cache_read.input_tokens", "cache_read_tokens"),
    ("gen_ai.usage.cache_read_input_tokens", "cache_read_tokens"),
    ("llm.token_count.prompt_details.cache_read", "cache_read_tokens"),
    ("gen_ai.usage.input_tokens.cached", "cache_read_tokens"),  # Sentry
    ("ai.usage.inputTokenDetails.cacheReadTokens", "cache_read_tokens"),  # Vercel AI SDK 6
    ("ai.usage.cachedInputTokens", "cache_read_tokens"),  # Vercel AI SDK 5
    # cache write
    ("gen_ai.usage.cache_write.input_tokens", "cache_write_tokens"),  # newest
    ("gen_ai.usage.cache_creation.input_tokens", "cache_write_tokens"),  # v1.40-1.41
    ("gen_ai.usage.cache_creation_input_tokens", "cache_write_tokens"),
    ("llm.token_count.prompt_details.cache_write", "cache_write_tokens"),
    ("gen_ai.usage.input_tokens.cache_write", "cache_write_tokens"),  # Sentry
    ("ai.usage.inputTokenDetails.cacheWriteTokens", "cache_write_tokens"),  # Vercel AI SDK 6
    # reasoning
    ("gen_ai.usage.reasoning.output_tokens", "reasoning_tokens"),
    ("gen_ai.usage.reasoning_tokens", "reasoning_tokens"),
    ("llm.usage.reasoning_tokens", "reasoning_tokens"),
    ("llm.token_count.completion_details.reasoning", "reasoning_tokens"),
    ("gen_ai.usage.output_tokens.reasoning", "reasoning_tokens"),  # Sentry
    ("ai.usage.outputTokenDetails.reasoningTokens", "reasoning_tokens"),  # Vercel AI SDK 6
    ("ai.usage.reasoningTokens", "reasoning_tokens"),  # Vercel AI SDK 5
]

TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")


@pytest.mark.parametrize(("key", "field"), TOKEN_SPELLINGS)
def test_token_spelling_is_read(key: str, field: str) -> None:
    # Big enough totals so the subset clamps never kick in and only ``field`` changes.
    base = {"gen_ai.request.model": "m"}
    if field in ("cache_read_tokens", "cache_write_tokens"):
        base["gen_ai.usage.input_tokens"] = 1000
    if field == "reasoning_tokens":
        base["gen_ai.usage.output_tokens"] = 1000
    rec = normalize({**base, key: 42})
    assert getattr(rec, field) == 42
    assert rec.has_usage is True
    for other in TOKEN_FIELDS:
        if other != field and other not in ("input_tokens", "output_tokens"):
            assert getattr(rec, other) == 0


@pytest.mark.parametrize(("key", "field"), TOKEN_SPELLINGS)
def test_token_spelling_alone_sets_has_usage(key: str, field: str) -> None:
    rec = normalize({key: 5})
    assert getattr(rec, field) == 5
    assert rec.has_usage is True


def test_every_token_spelling_is_in_a_lookup_tuple() -> None:
    tuples = {
        "input_tokens": a.INPUT_TOKEN_KEYS,
        "output_tokens": a.OUTPUT_TOKEN_KEYS,
        "cache_read_tokens": a.CACHE_READ_KEYS,
        "cache_write_tokens": a.CACHE_WRITE_KEYS,
        "reasoning_tokens": a.REASONING_KEYS,
    }
    for key, field in TOKEN_SPELLINGS:
        assert key in tuples[field], (key, field)
    # ... and no lookup tuple holds a spelling the table does not know.
    known = {key for key, _ in TOKEN_SPELLINGS}
    for keys in tuples.values():
        assert set(keys) <= known


def test_full_openinference_span() -> None:
    rec = normalize(
        {
            "openinference.span.kind": "LLM",
            "llm.provider": "anthropic",
            "llm.model_name": "claude-sonnet-4",
            "llm.token_count.prompt": 1500,
            "llm.token_count.completion": 300,
            "llm.token_count.prompt_details.cache_read": 1000,
            "llm.token_count.prompt_details.cache_write": 200,
            "llm.token_count.completion_details.reasoning": 100,
            "llm.cost.total": 0.0123,
        }
    )
    assert (rec.operation, rec.provider, rec.model) == ("chat", "anthropic", "claude-sonnet-4")
    assert (rec.input_tokens, rec.output_tokens) == (1500, 300)
    assert (rec.cache_read_tokens, rec.cache_write_tokens, rec.reasoning_tokens) == (1000, 200, 100)
    assert rec.client_cost == Decimal("0.0123")
    assert rec.is_llm is True


def test_full_otel_span() -> None:
    rec = normalize(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 40,
            "gen_ai.usage.cache_read.input_tokens": 100,
            "gen_ai.usage.reasoning.output_tokens": 10,
        }
    )
    assert rec.model == "gpt-4o-2024-08-06"
    assert (rec.input_tokens, rec.output_tokens, rec.cache_read_tokens, rec.reasoning_tokens) == (120, 40, 100, 10)
    assert rec.is_llm is True


# --------------------------------------------------------------------------------------------
# Precedence: the first-listed key of every lookup tuple wins
# --------------------------------------------------------------------------------------------

# (lookup tuple name, record field, value for the preferred key, value for the later key, expected)
_STR_LOOKUPS = [
    ("PROVIDER_KEYS", "provider"),
    ("REQUEST_MODEL_KEYS", "request_model"),
    ("RESPONSE_MODEL_KEYS", "response_model"),
    ("SERVICE_TIER_KEYS", "service_tier"),
    ("CUSTOMER_KEYS", "customer"),
    ("SECTION_KEYS", "section_path"),
]
_INT_LOOKUPS = [
    ("INPUT_TOKEN_KEYS", "input_tokens"),
    ("OUTPUT_TOKEN_KEYS", "output_tokens"),
    ("CACHE_READ_KEYS", "cache_read_tokens"),
    ("CACHE_WRITE_KEYS", "cache_write_tokens"),
    ("REASONING_KEYS", "reasoning_tokens"),
    ("HTTP_STATUS_KEYS", "http_status"),
]


def _pairs(tuple_name: str) -> list[tuple[str, str]]:
    return list(itertools.combinations(getattr(a, tuple_name), 2))


_STR_PAIRS = [
    pytest.param(field, first, later, id=f"{field}:{first}>{later}")
    for tuple_name, field in _STR_LOOKUPS
    for first, later in _pairs(tuple_name)
]
_INT_PAIRS = [
    pytest.param(field, first, later, id=f"{field}:{first}>{later}")
    for tuple_name, field in _INT_LOOKUPS
    for first, later in _pairs(tuple_name)
]
_COST_PAIRS = [pytest.param(first, later, id=f"{first}>{later}") for first, later in _pairs("CLIENT_COST_KEYS")]


@pytest.mark.parametrize(("field", "first", "later"), _STR_PAIRS)
def test_first_listed_string_key_wins(field: str, first: str, later: str) -> None:
    # Lower-case values so provider normalisation leaves them unchanged.
    rec = normalize({later: "later-value", first: "first-value"})
    assert getattr(rec, field) == "first-value"


@pytest.mark.parametrize(("field", "first", "later"), _INT_PAIRS)
def test_first_listed_count_key_wins(field: str, first: str, later: str) -> None:
    # For subset counts, totals large enough that no clamp changes them.
    base: dict[str, Any] = {}
    if field in ("cache_read_tokens", "cache_write_tokens"):
        base["gen_ai.usage.input_tokens"] = 10_000
    if field == "reasoning_tokens":
        base["gen_ai.usage.output_tokens"] = 10_000
    rec = normalize({**base, later: 222, first: 111})
    assert getattr(rec, field) == 111


@pytest.mark.parametrize(("first", "later"), _COST_PAIRS)
def test_first_listed_cost_key_wins(first: str, later: str) -> None:
    rec = normalize({later: 2.5, first: 1.25})
    assert rec.client_cost == Decimal("1.25")


def test_cost_lookup_order_is_openinference_then_openlit() -> None:
    assert a.CLIENT_COST_KEYS == ("llm.cost.total", "gen_ai.usage.cost")
    assert normalize({"gen_ai.usage.cost": 9, "llm.cost.total": 1}).client_cost == Decimal("1")


@pytest.mark.parametrize(("field", "first", "later"), _INT_PAIRS)
def test_present_zero_in_preferred_key_is_kept(field: str, first: str, later: str) -> None:
    # Nothing else present, so no clamp can lift the 0 back up.
    rec = normalize({first: 0, later: 222})
    assert getattr(rec, field) == 0


@pytest.mark.parametrize(("first", "later"), _COST_PAIRS)
def test_present_zero_cost_in_preferred_key_is_kept(first: str, later: str) -> None:
    assert normalize({first: 0, later: 3}).client_cost == Decimal("0")
    assert normalize({first: "0", later: 3}).client_cost == Decimal("0")
    assert normalize({first: 0.0, later: 3}).client_cost == Decimal("0")


@pytest.mark.parametrize("zero", [0, 0.0, "0"])
def test_zero_input_tokens_not_replaced_by_openinference_count(zero: Any) -> None:
    rec = normalize({"gen_ai.usage.input_tokens": zero, "llm.token_count.prompt": 500, "gen_ai.request.model": "m"})
    assert rec.input_tokens == 0
    assert rec.has_usage is True


@pytest.mark.parametrize("absent", [None, ""])
def test_none_or_empty_preferred_key_falls_through(absent: Any) -> None:
    rec = normalize({"gen_ai.usage.input_tokens": absent, "gen_ai.usage.prompt_tokens": 77})
    assert rec.input_tokens == 77
    rec = normalize({"gen_ai.response.model": absent, "gen_ai.request.model": "gpt-4o"})
    assert rec.model == "gpt-4o"
    rec = normalize({"gen_ai.provider.name": absent, "gen_ai.system": "openai"})
    assert rec.provider == "openai"
    rec = normalize({"llm.cost.total": absent, "gen_ai.usage.cost": 0.5})
    assert rec.client_cost == Decimal("0.5")


# --------------------------------------------------------------------------------------------
# Robustness of counts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (120, 120),
        ("120", 120),
        (" 120 ", 120),
        (120.0, 120),
        (120.9, 120),
        ("120.5", 120),
        ("1e3", 1000),
        (0, 0),
        (-5, 0),
        ("-5", 0),
        (-0.5, 0),
        ("abc", 0),
        ("12 tokens", 0),
        (True, 0),
        (False, 0),
        ([120], 0),
        ({"n": 1}, 0),
        (object(), 0),
        (math.nan, 0),
        ("nan", 0),
        (math.inf, 0),
        (-math.inf, 0),
        ("inf", 0),
        ("Infinity", 0),
        (Decimal("120"), 120),
        (Decimal("Infinity"), 0),
    ],
    ids=lambda value: "object()" if type(value) is object else repr(value),  # the same in every xdist worker
)
@pytest.mark.parametrize("key", ["gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "llm.token_count.prompt"])
def test_token_count_coercion(key: str, raw: Any, expected: int) -> None:
    rec = normalize({key: raw})
    field = "input_tokens" if key != "gen_ai.usage.output_tokens" else "output_tokens"
    assert getattr(rec, field) == expected
    assert isinstance(getattr(rec, field), int)


@pytest.mark.parametrize(
    ("attrs", "expected_in"),
    [
        ({"gen_ai.usage.input_tokens": 10, "gen_ai.usage.cache_read.input_tokens": 30}, 30),
        ({"gen_ai.usage.input_tokens": 10, "gen_ai.usage.cache_write.input_tokens": 30}, 30),
        (
            {
                "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.cache_read.input_tokens": 30,
                "gen_ai.usage.cache_creation.input_tokens": 5,
            },
            35,
        ),
        ({"gen_ai.usage.cache_read.input_tokens": 8}, 8),  # input missing entirely
        ({"llm.token_count.prompt": "4", "llm.token_count.prompt_details.cache_read": "6"}, 6),
        # not clamped when consistent
        ({"gen_ai.usage.input_tokens": 100, "gen_ai.usage.cache_read.input_tokens": 30}, 100),
        (
            {
                "gen_ai.usage.input_tokens": 35,
                "gen_ai.usage.cache_read.input_tokens": 30,
                "gen_ai.usage.cache_write.input_tokens": 5,
            },
            35,
        ),
    ],
)
def test_cache_larger_than_input_is_clamped(attrs: dict[str, Any], expected_in: int) -> None:
    rec = normalize(attrs)
    assert rec.input_tokens == expected_in
    assert rec.input_tokens >= rec.cache_read_tokens + rec.cache_write_tokens


def test_negative_cache_does_not_lower_input() -> None:
    rec = normalize(
        {
            "gen_ai.usage.input_tokens": 50,
            "gen_ai.usage.cache_read.input_tokens": -20,
            "gen_ai.usage.cache_write.input_tokens": "x",
        }
    )
    assert (rec.input_tokens, rec.cache_read_tokens, rec.cache_write_tokens) == (50, 0, 0)


@pytest.mark.parametrize(
    ("output", "reasoning", "expected_out"),
    [(10, 30, 30), (None, 7, 7), (100, 30, 100), (0, 0, 0)],
)
def test_reasoning_larger_than_output_is_clamped(output: Any, reasoning: int, expected_out: int) -> None:
    attrs: dict[str, Any] = {"gen_ai.usage.reasoning.output_tokens": reasoning}
    if output is not None:
        attrs["gen_ai.usage.output_tokens"] = output
    rec = normalize(attrs)
    assert rec.output_tokens == expected_out
    assert rec.reasoning_tokens == reasoning
    assert rec.output_tokens >= rec.reasoning_tokens


@pytest.mark.parametrize(
    "attrs",
    [
        {},
        {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.provider.name": "openai"},
        {"http.response.status_code": 200, "http.request.method": "POST"},
        {"gen_ai.usage.input_tokens": None, "gen_ai.usage.output_tokens": ""},
        {"gen_ai.usage.cost": 0.01},
    ],
)
def test_has_usage_false_when_no_count_present(attrs: dict[str, Any]) -> None:
    rec = normalize(attrs)
    assert rec.has_usage is False
    assert (rec.input_tokens, rec.output_tokens, rec.cache_read_tokens, rec.cache_write_tokens) == (0, 0, 0, 0)


def test_has_usage_true_when_all_counts_are_zero() -> None:
    rec = normalize({"gen_ai.usage.input_tokens": 0, "gen_ai.usage.output_tokens": 0})
    assert rec.has_usage is True


def test_empty_attrs_give_default_record() -> None:
    assert normalize({}) == GenAIRecord()


def test_normalize_accepts_any_mapping() -> None:
    from types import MappingProxyType

    rec = normalize(MappingProxyType({"gen_ai.usage.input_tokens": 3, "gen_ai.request.model": "m"}))
    assert rec.input_tokens == 3 and rec.is_llm


def test_normalize_does_not_mutate_input() -> None:
    attrs = {"gen_ai.usage.input_tokens": "10", "gen_ai.usage.cache_read.input_tokens": 20, "gen_ai.system": "xai"}
    snapshot = dict(attrs)
    normalize(attrs)
    assert attrs == snapshot


# --------------------------------------------------------------------------------------------
# Client-computed cost
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["gen_ai.usage.cost", "llm.cost.total"])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0.0123, Decimal("0.0123")),
        ("0.0123", Decimal("0.0123")),
        (1, Decimal("1")),
        (0, Decimal("0")),
        (0.1, Decimal("0.1")),  # via str(): no binary-float noise
        (-0.5, None),
        ("abc", None),
        (math.nan, None),
        (math.inf, None),
        (True, None),
    ],
    ids=repr,
)
def test_client_cost(key: str, raw: Any, expected: Decimal | None) -> None:
    cost = normalize({key: raw}).client_cost
    assert cost == expected
    if expected is not None:
        assert isinstance(cost, Decimal)


def test_client_cost_absent_is_none() -> None:
    assert normalize({"gen_ai.usage.input_tokens": 1}).client_cost is None


# --------------------------------------------------------------------------------------------
# is_llm
# --------------------------------------------------------------------------------------------

_USAGE = {"gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20}


@pytest.mark.parametrize(
    "attrs",
    [
        {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", **_USAGE},
        {
            "gen_ai.operation.name": "embeddings",
            "gen_ai.request.model": "text-embedding-3-small",
            "gen_ai.usage.input_tokens": 8,
        },
        {"gen_ai.operation.name": "generate_content", "gen_ai.request.model": "gemini-2.5-pro", **_USAGE},
        {"gen_ai.operation.name": "text_completion", "gen_ai.request.model": "davinci", **_USAGE},
        {"llm.request.type": "chat", "gen_ai.request.model": "gpt-4o", **_USAGE},
        {"llm.request.type": "completion", "gen_ai.request.model": "gpt-3.5-turbo-instruct", **_USAGE},
        {"llm.request.type": "embedding", "gen_ai.request.model": "e", "gen_ai.usage.prompt_tokens": 3},
        {"openinference.span.kind": "LLM", "llm.model_name": "claude", "llm.token_count.prompt": 5},
        {"openinference.span.kind": "EMBEDDING", "llm.model_name": "e", "llm.token_count.prompt": 5},
        # no operation at all, but usage and a model
        {"gen_ai.request.model": "gpt-4o", **_USAGE},
        {"gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.output_tokens": 1},
        {"llm.model_name": "claude", "llm.token_count.completion": 9},
        # no operation, usage and only a provider
        {"gen_ai.system": "openai", **_USAGE},
        # unknown operation value falls back to usage + model
        {"llm.request.type": "unknown", "gen_ai.request.model": "m", **_USAGE},
    ],
)
def test_is_llm_true(attrs: dict[str, Any]) -> None:
    assert normalize(attrs).is_llm is True


@pytest.mark.parametrize(
    "attrs",
    [
        # grouping spans carrying a roll-up of their children's usage
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "research",
            "gen_ai.request.model": "gpt-4o",
            **_USAGE,
        },
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "search",
            "gen_ai.request.model": "gpt-4o",
            **_USAGE,
        },
        {"gen_ai.operation.name": "create_agent", "gen_ai.request.model": "gpt-4o", **_USAGE},
        {"gen_ai.operation.name": "invoke_workflow", "gen_ai.request.model": "gpt-4o", **_USAGE},
        {"gen_ai.operation.name": "retrieval", "gen_ai.request.model": "gpt-4o", **_USAGE},
        {"openinference.span.kind": "AGENT", "llm.model_name": "claude", "llm.token_count.prompt": 5},
        {"openinference.span.kind": "TOOL", "llm.model_name": "claude", "llm.token_count.prompt": 5},
        {"openinference.span.kind": "CHAIN", "llm.model_name": "claude", "llm.token_count.prompt": 5},
        {"traceloop.span.kind": "agent", "traceloop.entity.name": "a", "gen_ai.request.model": "m", **_USAGE},
        {"traceloop.span.kind": "tool", "traceloop.entity.name": "t", "gen_ai.request.model": "m", **_USAGE},
        {"traceloop.span.kind": "workflow", "gen_ai.request.model": "m", **_USAGE},
        {"traceloop.span.kind": "task", "gen_ai.request.model": "m", **_USAGE},
        # plain HTTP span
        {
            "http.request.method": "POST",
            "url.full": "https://api.openai.com/v1/chat/completions",
            "http.response.status_code": 200,
        },
        # usage but nothing that says which model served it
        {**_USAGE},
        # model but no usage and no operation
        {"gen_ai.request.model": "gpt-4o"},
        {},
    ],
)
def test_is_llm_false(attrs: dict[str, Any]) -> None:
    assert normalize(attrs).is_llm is False


_GARBAGE = [None, "", 0, -1, 1.5, math.nan, math.inf, "inf", "x", True, [1], ["a"], (1,), {"a": 1}, b"12",
            Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"), object(), set()]  # fmt: skip
_ALL_KEYS = sorted({v for k, v in vars(a).items() if k.isupper() and isinstance(v, str)})


@pytest.mark.parametrize("key", _ALL_KEYS)
def test_garbage_value_in_any_known_key_never_raises(key: str) -> None:
    for raw in _GARBAGE:
        rec = normalize({key: raw, "gen_ai.usage.input_tokens": 5})
        assert isinstance(rec, GenAIRecord)
        assert rec.input_tokens >= rec.cache_read_tokens + rec.cache_write_tokens
        assert rec.output_tokens >= rec.reasoning_tokens >= 0
