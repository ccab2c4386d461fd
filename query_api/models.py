"""Response schemas (they are the OpenAPI contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["GroupBy", "BreakdownRowPublic", "CostBreakdown", "Health", "ErrorBody"]

GroupBy = Literal["provider", "model", "agent", "customer", "day"]


class BreakdownRowPublic(BaseModel):
    key: str = Field(description="Group value; 'untracked' for LLM cost outside any agent/customer")
    cost_usd: float = Field(description="Exact decimal sum, rendered as a JSON number")
    calls: int = Field(description="LLM calls (each span counted once, retries included)")
    input_tokens: int
    output_tokens: int


class CostBreakdown(BaseModel):
    group_by: GroupBy
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    total_cost_usd: float
    rows: list[BreakdownRowPublic]

    model_config = {"populate_by_name": True}


class Health(BaseModel):
    status: Literal["ok"]
    storage: str


class ErrorBody(BaseModel):
    error: str = Field(description="Short machine-readable code, e.g. 'unauthenticated'")
    detail: object = Field(description="What went wrong and how to fix it")
