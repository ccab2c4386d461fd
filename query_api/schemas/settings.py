"""Tenant settings: which attributes name a span's customer and session."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["AttributionIn", "AttributionOut", "DuplicateDay", "DuplicatesIn", "DuplicatesOut"]

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


class DuplicatesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    detect: bool = Field(description="charge one call reported in two traces once (the default)")


class DuplicateDay(BaseModel):
    day: date = Field(description="UTC day the reports started")
    duplicates: int = Field(description="reports marked as a duplicate of a report in another trace")
    cause: str = Field(
        description="why the call was reported twice, e.g. two instrumentations, context lost between them"
    )


class DuplicatesOut(BaseModel):
    detect: bool = Field(description="whether duplicate reports are detected, for spans ingested from now on")
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    total: int
    days: list[DuplicateDay]

    model_config = {"populate_by_name": True}
