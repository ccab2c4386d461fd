"""The health probe and the body of every error."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["ErrorBody", "Health"]


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    storage: Literal["ok", "unavailable"] = Field(description="whether ClickHouse answers")
    storage_backend: str | None = Field(
        None, description="where the data lives (ClickHouse host or data dir): only with an admin key"
    )
    rollups_pending: int | None = Field(
        None,
        description="Rollup buckets waiting for a refresh (answers stay exact meanwhile, only slower); "
        "null before the first refresh pass or where no refresher runs",
    )


class ErrorBody(BaseModel):
    error: str = Field(description="Short machine-readable code, e.g. 'unauthenticated'")
    detail: object = Field(description="What went wrong and how to fix it")
