"""Response schemas (they are the OpenAPI contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["BreakdownRowPublic", "CostBreakdown", "ErrorBody", "GroupBy", "Health", "UnpricedModelPublic", "UnpricedModels"]

GroupBy = Literal["provider", "model", "agent", "customer", "day"]


class BreakdownRowPublic(BaseModel):
    key: str = Field(description="Group value; 'untracked' for LLM cost outside any agent/customer")
    cost_usd: float = Field(description="Exact decimal sum, rendered as a JSON number")
    calls: int = Field(description="LLM calls (each span counted once, retries included)")
    input_tokens: int
    output_tokens: int
    unpriced_calls: int = Field(description="LLM calls whose model has no known price (cost 0 is not their cost)")
    failed_calls: int = Field(description="LLM calls that failed (429, 5xx, errors without usage): cost 0, not billable")


class CostBreakdown(BaseModel):
    group_by: GroupBy
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    total_cost_usd: float
    unpriced_calls: int = Field(description="LLM calls in range whose cost is unknown; see /api/v1/pricing/unpriced")
    rows: list[BreakdownRowPublic]

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
    status: Literal["ok"]
    storage: str


class ErrorBody(BaseModel):
    error: str = Field(description="Short machine-readable code, e.g. 'unauthenticated'")
    detail: object = Field(description="What went wrong and how to fix it")
