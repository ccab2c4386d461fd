"""Strict-mode reservations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ReservationIn", "ReservationPublic", "ReservationsPublic", "SettleIn", "SettlePublic"]

_NAME = Field("", max_length=256)


class ReservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = _NAME
    model: str = _NAME
    agent: str = _NAME
    customer: str = _NAME
    service: str = _NAME
    input_bytes: int = Field(
        0, ge=0, le=512 * 1024 * 1024, description="the request body's size: at most one token per byte"
    )
    max_output_tokens: int | None = Field(
        None, ge=0, le=10_000_000, description="the request's output limit; null: the default worst case"
    )


class ReservationPublic(BaseModel):
    id: str | None = Field(description="null when no hard-block cap applies: nothing to settle")
    reserved_usd: str
    expires_at: datetime | None = None


class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_tokens: int = Field(0, ge=0, le=100_000_000, description="as the provider reported, cached included")
    output_tokens: int = Field(0, ge=0, le=100_000_000)
    cache_read_tokens: int = Field(0, ge=0, le=100_000_000)
    cache_write_tokens: int = Field(0, ge=0, le=100_000_000)


class SettlePublic(BaseModel):
    id: str
    cost_usd: str


class ReservationsPublic(BaseModel):
    open: int
    reserved_usd: str
