"""Unpriced models, tenant custom prices and re-pricing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field, model_validator

from llmobserve.pricing import MAX_PATTERN_CHARS, compile_model_pattern

__all__ = [
    "CustomPriceIn",
    "CustomPricePublic",
    "CustomPricesPublic",
    "RepriceIn",
    "RepriceOut",
    "UnpricedModelPublic",
    "UnpricedModels",
]


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


_MAX_PRICE = Decimal(1_000_000)  # USD per million tokens


class CustomPriceIn(BaseModel):
    """A tenant price that wins over the catalogue; USD per million tokens."""

    provider: str = Field(
        "", max_length=200, description="OTel provider name (openai, anthropic, ...); empty matches any provider"
    )
    model: str | None = Field(None, max_length=1000, description="exact model name (request or response model)")
    model_pattern: str | None = Field(
        None,
        max_length=MAX_PATTERN_CHARS,
        description="RE2 regex matched against the whole model name (linear time: no backreferences or lookaround)",
    )
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
