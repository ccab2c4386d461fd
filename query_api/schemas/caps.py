"""Spending caps: what a valid cap is, and where each cap stands."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "BlockedBy",
    "CapCreated",
    "CapIn",
    "CapPatch",
    "CapPublic",
    "CapStatusPublic",
    "CapsPublic",
    "CheckPublic",
    "CustomerSpend",
    "RatesPublic",
    "RecipientStatus",
    "SCOPED",
    "StatusPublic",
    "WebhookSecretPublic",
]

Scope = Literal["global", "provider", "model", "agent", "customer", "service", "each_customer"]


SCOPED = frozenset({"provider", "model", "agent", "customer", "service"})
"""Scopes that name one value (``global`` and the ``each_customer`` template name none)."""


Period = Literal["daily", "weekly", "monthly", "total"]
# An exact amount: no float ever stands between what the user typed and the cap (0.1 + 0.2 != 0.3).


_USD = Annotated[str, Field(pattern=r"^\d{1,12}(\.\d{1,12})?$", description='an exact decimal string, e.g. "25.00"')]


_EMAIL = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


_URL = Annotated[str, Field(min_length=8, max_length=2048)]


class CapIn(BaseModel):
    """A spending cap: at most ``limit_usd`` of priced LLM calls per ``period`` within its scope."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=200)
    scope: Scope
    value: str | None = Field(
        None,
        min_length=1,
        max_length=256,
        description="the provider, model, agent, customer or service; none for global and each_customer",
    )
    period: Period = Field(
        "monthly", description="calendar periods in time_zone (weeks start Monday); total never resets"
    )
    time_zone: str = Field("UTC", max_length=64, description="an IANA zone, e.g. Europe/Paris")
    limit_usd: _USD
    thresholds: list[Decimal] = Field(
        default_factory=lambda: [Decimal("0.8"), Decimal("1.0")],
        min_length=1,
        max_length=10,
        description="fractions of the limit that alert, each in (0, 1]",
    )
    enforcement: Literal["alert_only", "hard_block"] = "alert_only"
    recipients: list[_EMAIL] = Field(default_factory=list, max_length=20)
    webhooks: list[_URL] = Field(default_factory=list, max_length=10, description="http(s) URLs that get a JSON POST")
    enabled: bool = True

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'UTC' or 'Europe/Paris'") from None
        return value

    @field_validator("limit_usd")
    @classmethod
    def _positive(cls, value: str) -> str:
        if Decimal(value) <= 0:
            raise ValueError("must be more than 0")
        return value

    @field_validator("thresholds")
    @classmethod
    def _fractions(cls, values: list[Decimal]) -> list[Decimal]:
        if any(not (0 < v <= 1) for v in values):
            raise ValueError("each threshold is a fraction of the limit in (0, 1], e.g. 0.8")
        if len(set(values)) != len(values):
            raise ValueError("a threshold is listed twice")
        return sorted(values)

    @field_validator("webhooks")
    @classmethod
    def _http(cls, values: list[str]) -> list[str]:
        for url in values:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url!r} is not an http(s) URL")
        return values

    @model_validator(mode="after")
    def _value_fits_scope(self) -> CapIn:
        if self.scope in SCOPED and self.value is None:
            raise ValueError(f"scope '{self.scope}' needs a 'value' (which {self.scope})")
        if self.scope not in SCOPED and self.value is not None:
            raise ValueError(f"scope '{self.scope}' takes no 'value'")
        return self


class CapPatch(BaseModel):
    """Fields to change; the cap as changed must still be a valid ``CapIn``."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    scope: Scope | None = None
    value: str | None = None
    period: Period | None = None
    time_zone: str | None = None
    limit_usd: _USD | None = None
    thresholds: list[Decimal] | None = None
    enforcement: Literal["alert_only", "hard_block"] | None = None
    recipients: list[str] | None = None
    webhooks: list[str] | None = None
    enabled: bool | None = None

    def applied_to(self, current: dict[str, Any]) -> CapIn:
        return CapIn.model_validate({**current, **self.model_dump(exclude_unset=True)})


class RecipientStatus(BaseModel):
    """Whether an e-mail recipient confirmed: an address gets alerts only once it has (a link it was e-mailed)."""

    address: str
    confirmed: bool
    confirmed_at: datetime | None
    confirmation_sent_at: datetime | None = Field(description="when the newest confirmation link was e-mailed")
    detail: str = Field(description="what the address waits for, or why no confirmation e-mail went out")


class CapPublic(BaseModel):
    id: str
    name: str
    scope: Scope
    value: str | None
    period: Period
    time_zone: str
    limit_usd: str
    thresholds: list[str]
    enforcement: str
    recipients: list[str]
    recipients_status: list[RecipientStatus] = Field(description="per recipient, whether it confirmed")
    webhooks: list[str] = Field(description="in full for admin keys; scheme and host only for others")
    enabled: bool
    created_at: datetime
    updated_at: datetime


class CapCreated(CapPublic):
    webhook_secret: str = Field(
        description="signs this cap's webhook payloads (header X-Llmobserve-Signature); shown only in this answer"
    )


class WebhookSecretPublic(BaseModel):
    cap_id: str
    webhook_secret: str = Field(
        description="the new secret, shown only in this answer; payloads are signed with it from now on"
    )


class CapsPublic(BaseModel):
    data: list[CapPublic]
    count: int


State = Literal["ok", "warning", "exceeded", "disabled"]


class CustomerSpend(BaseModel):
    customer: str
    spend_usd: str
    percent: float
    state: State


class CapStatusPublic(CapPublic):
    period_start: datetime
    resets_at: datetime | None = Field(description="when the period ends and spend starts again at 0; null for total")
    spend_usd: str = Field(description="exact; for each_customer, the spend of the customer nearest the limit")
    percent: float
    state: State
    customers: list[CustomerSpend] | None = Field(
        None, description="each_customer only: customers at or over the lowest threshold, and any asked for"
    )


class RatesPublic(BaseModel):
    input_per_mtok: str
    output_per_mtok: str
    cache_read_per_mtok: str
    cache_write_per_mtok: str


class StatusPublic(BaseModel):
    as_of: datetime
    caps: list[CapStatusPublic]
    rates: dict[str, RatesPublic] = Field(
        default_factory=dict, description="USD per million tokens of each `provider/model` asked for"
    )


class BlockedBy(BaseModel):
    cap_id: str
    name: str
    scope: str
    value: str | None
    customer: str | None = None
    spend_usd: str
    limit_usd: str
    resets_at: datetime | None


class CheckPublic(BaseModel):
    allowed: bool
    blocked_by: list[BlockedBy]
