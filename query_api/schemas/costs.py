"""Cost breakdowns, time series and the summary."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "BreakdownRest",
    "BreakdownRowPublic",
    "CostBreakdown",
    "CostSummary",
    "GroupBy",
    "Series",
    "Timeseries",
    "TopRow",
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
    failed_calls: int = Field(
        description="LLM calls that failed (429, 5xx, errors without usage): cost 0, not billable"
    )
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
