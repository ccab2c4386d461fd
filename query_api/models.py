"""Response schemas (they are the OpenAPI contract)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from llmobserve.pricing import MAX_PATTERN_CHARS, compile_model_pattern

__all__ = [
    "AttributionIn",
    "AttributionOut",
    "BreakdownRest",
    "BreakdownRowPublic",
    "CostBreakdown",
    "CostSummary",
    "CustomPriceIn",
    "CustomPricePublic",
    "CustomPricesPublic",
    "ErrorBody",
    "GroupBy",
    "Health",
    "KeyCreate",
    "KeyCreated",
    "KeyPublic",
    "KeysPublic",
    "RepriceIn",
    "RepriceOut",
    "RunPublic",
    "RunsPage",
    "Series",
    "Timeseries",
    "TopRow",
    "TraceNode",
    "TraceTree",
    "UnpricedModelPublic",
    "UnpricedModels",
    "WindowTotal",
]

GroupBy = Literal["provider", "model", "agent", "customer", "session", "section", "service", "tool", "day", "hour"]


class BreakdownRowPublic(BaseModel):
    key: str = Field(description="Group value; 'untracked' for LLM cost outside any agent/customer/session")
    cost_usd: float = Field(description="Exact decimal sum, rendered as a JSON number")
    calls: int = Field(description="LLM calls (each span counted once, retries included)")
    input_tokens: int
    output_tokens: int
    unpriced_calls: int = Field(description="LLM calls whose model has no known price (cost 0 is not their cost)")
    failed_calls: int = Field(description="LLM calls that failed (429, 5xx, errors without usage): cost 0, not billable")
    cached_tokens: int = Field(description="input tokens read from the provider's cache (part of input_tokens)")


class BreakdownRest(BaseModel):
    """The groups a breakdown left out, summed."""

    groups: int = Field(description="how many groups are left out")
    cost_usd: float
    calls: int
    input_tokens: int
    output_tokens: int
    unpriced_calls: int
    failed_calls: int
    cached_tokens: int


class CostBreakdown(BaseModel):
    group_by: GroupBy
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    total_cost_usd: float = Field(description="every group's cost, the left-out ones included")
    unpriced_calls: int = Field(description="LLM calls in range whose cost is unknown; see /api/v1/pricing/unpriced")
    rows: list[BreakdownRowPublic] = Field(description="the `limit` most expensive groups, most expensive first")
    limit: int = Field(description="the most rows answered")
    truncated: bool = Field(description="true when more groups than `limit` had cost; `rest` sums them")
    rest: BreakdownRest | None = Field(description="the groups beyond `limit`, summed; null when none are left out")

    model_config = {"populate_by_name": True}


class UnpricedModelPublic(BaseModel):
    provider: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    first_seen: datetime
    last_seen: datetime


class UnpricedModels(BaseModel):
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    unpriced_calls: int
    models: list[UnpricedModelPublic]

    model_config = {"populate_by_name": True}


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    storage: Literal["ok", "unavailable"] = Field(description="whether ClickHouse answers")
    storage_backend: str | None = Field(
        None, description="where the data lives (ClickHouse host or data dir): only with an admin key")
    rollups_pending: int | None = Field(
        None, description="Rollup buckets waiting for a refresh (answers stay exact meanwhile, only slower); "
                          "null before the first refresh pass or where no refresher runs")


class ErrorBody(BaseModel):
    error: str = Field(description="Short machine-readable code, e.g. 'unauthenticated'")
    detail: object = Field(description="What went wrong and how to fix it")


_MAX_PRICE = Decimal(1_000_000)  # USD per million tokens


class CustomPriceIn(BaseModel):
    """A tenant price that wins over the catalogue; USD per million tokens."""

    provider: str = Field("", max_length=200,
                          description="OTel provider name (openai, anthropic, ...); empty matches any provider")
    model: str | None = Field(None, max_length=1000, description="exact model name (request or response model)")
    model_pattern: str | None = Field(None, max_length=MAX_PATTERN_CHARS,
                                      description="RE2 regex matched against the whole model name (linear time: "
                                                  "no backreferences or lookaround)")
    effective_from: datetime | None = Field(None, description="applies to spans starting at or after; default always")
    # Bounded so a price fits its Decimal(38, 12) column (1e30 failed the insert) and any span's cost stays storable.
    input_per_mtok: Decimal = Field(ge=0, le=_MAX_PRICE)
    output_per_mtok: Decimal = Field(ge=0, le=_MAX_PRICE)
    cache_read_per_mtok: Decimal | None = Field(None, ge=0, le=_MAX_PRICE, description="default: the input price")
    cache_write_per_mtok: Decimal | None = Field(None, ge=0, le=_MAX_PRICE, description="default: the input price")
    reasoning_per_mtok: Decimal | None = Field(None, ge=0, le=_MAX_PRICE, description="default: the output price")

    @model_validator(mode="after")
    def _one_matcher(self) -> CustomPriceIn:
        if (self.model is None) == (self.model_pattern is None):
            raise ValueError("give exactly one of 'model' (exact name) or 'model_pattern' (regex)")
        if self.model_pattern is not None:
            compile_model_pattern(self.model_pattern)  # its ValueError names the problem
        return self


class CustomPricePublic(BaseModel):
    id: str
    provider: str
    model: str
    is_regex: bool
    effective_from: datetime
    input_per_mtok: float
    output_per_mtok: float
    cache_read_per_mtok: float | None
    cache_write_per_mtok: float | None
    reasoning_per_mtok: float | None
    source: str
    updated_at: datetime


class CustomPricesPublic(BaseModel):
    data: list[CustomPricePublic]
    count: int


class RepriceIn(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime

    model_config = {"populate_by_name": True}


class RepriceOut(BaseModel):
    spans: int = Field(description="LLM spans whose cost was recomputed (no span is added)")
    cost_before_usd: float
    cost_after_usd: float


class KeyCreate(BaseModel):
    scopes: list[Literal["ingest", "read", "admin"]] = Field(default_factory=lambda: ["ingest", "read"], min_length=1)
    name: str = Field("", max_length=200)


class KeyPublic(BaseModel):
    key_id: str
    prefix: str = Field(description="how the key starts, to recognise it; the key itself is never shown again")
    scopes: list[str]
    name: str
    created_at: datetime
    revoked: bool


class KeyCreated(KeyPublic):
    key: str = Field(description="the API key: shown this once, store it now")


class KeysPublic(BaseModel):
    data: list[KeyPublic]
    count: int


class TraceNode(BaseModel):
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    service: str
    start_time: datetime
    end_time: datetime
    duration_ms: float
    status: str
    status_message: str
    operation: str
    provider: str
    model: str
    agent: str
    customer: str
    session: str
    section_path: str
    tool: str
    is_llm: bool
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: float = Field(description="this span's own cost")
    subtree_cost_usd: float = Field(description="this span and everything under it")
    unpriced: bool = Field(description="an LLM call whose model has no known price")
    children: list[TraceNode]
    children_omitted: int = Field(0, description="children not nested here because the tree reached `max_depth`; "
                                                 "read them with ?root=<this span_id>")


class TraceTree(BaseModel):
    trace_id: str
    spans: int
    total_cost_usd: float = Field(description="the whole trace's cost, whatever `root` and `max_depth` leave out")
    roots: list[TraceNode] = Field(description="spans without a parent in this trace (usually one), "
                                               "or the span given as `root`")
    max_depth: int = Field(description="the most levels nested in `roots`")
    truncated_depth: bool = Field(description="true when spans lie deeper than `max_depth`: the nodes at the cut "
                                              "have `children_omitted` > 0")


class Series(BaseModel):
    key: str
    cost_usd: list[float] = Field(description="one value per bucket, 0 where nothing was spent")
    calls: list[int]


class Timeseries(BaseModel):
    interval: Literal["hour", "day"]
    group_by: GroupBy | None
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    buckets: list[datetime] = Field(description="bucket starts (UTC), every bucket in range")
    series: list[Series] = Field(description="costliest first; at most 'limit' of them")
    limit: int | None = Field(None, description="most series one answer holds (grouped answers)")
    truncated: bool = Field(False, description="true when more keys had calls than 'limit'")
    rest: Series | None = Field(None, description="the keys left out, summed per bucket (key '(rest)')")
    rest_groups: int = Field(0, description="how many keys 'rest' sums")

    model_config = {"populate_by_name": True}


class WindowTotal(BaseModel):
    cost_usd: float
    calls: int


class TopRow(BaseModel):
    key: str
    cost_usd: float
    calls: int


class CostSummary(BaseModel):
    as_of: datetime
    last_24h: WindowTotal
    previous_24h: WindowTotal
    change_24h_pct: float | None = Field(description="null when the previous window spent nothing")
    last_7d: WindowTotal
    previous_7d: WindowTotal
    change_7d_pct: float | None
    top: dict[str, list[TopRow]] = Field(description="top 5 providers, models, agents, customers over the last 7 days")
    untracked_share_pct: float = Field(description="share of the last 7 days' cost outside any agent")


class RunPublic(BaseModel):
    trace_id: str
    start_time: datetime
    duration_ms: float
    root_name: str
    service: str
    cost_usd: float
    llm_calls: int
    errors: int
    top_section: str = Field(description="section of the run's most expensive span")


class RunsPage(BaseModel):
    data: list[RunPublic]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


_ATTRIBUTE_NAME = Field(min_length=1, max_length=256, pattern=r"^\S+$")


_NAMES = list[Annotated[str, _ATTRIBUTE_NAME]] | None


class AttributionIn(BaseModel):
    """Ordered lists of attribute names; the first one present on a span (else on its resource, else
    on its nearest ancestor) names its customer / session. A list left out stays as it is; ``null`` or
    an empty list restores the default list."""

    model_config = ConfigDict(extra="forbid")

    customer: _NAMES = Field(None, max_length=16)
    session: _NAMES = Field(None, max_length=16)

    @model_validator(mode="after")
    def _given_and_distinct(self) -> AttributionIn:
        if not self.model_fields_set:
            raise ValueError("send 'customer', 'session' or both")
        for kind in ("customer", "session"):
            names = getattr(self, kind)
            if names and len(set(names)) != len(names):
                raise ValueError(f"'{kind}' lists an attribute twice")
        return self


class AttributionOut(BaseModel):
    customer: list[str] = Field(description="the attributes read, in order, for spans ingested from now on")
    customer_is_default: bool
    default_customer: list[str]
    session: list[str] = Field(description="the attributes read, in order, for spans ingested from now on")
    session_is_default: bool
    default_session: list[str]
