"""API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["KeyCreate", "KeyCreated", "KeyPublic", "KeysPublic"]


Scope = Literal["ingest", "read", "admin"]


def _ingest_and_read() -> list[Scope]:
    return ["ingest", "read"]


class KeyCreate(BaseModel):
    scopes: list[Scope] = Field(default_factory=_ingest_and_read, min_length=1)
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
