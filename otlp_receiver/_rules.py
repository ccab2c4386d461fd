"""Everything decoding one tenant's request depends on besides the request, as one value that
travels to the decode workers."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmobserve.pricing import CustomPrices

from ._limits import Limits

__all__ = ["TenantRules"]


@dataclass(frozen=True, slots=True)
class TenantRules:
    """Whose spans these are, the tenant's custom prices, its ordered lists of the attributes that name a
    span's customer and session (None: the default, the catalogue alone and ``semconv``'s
    CUSTOMER_KEYS / SESSION_KEYS), the bounds a span must keep, and whether duplicate reports are detected."""

    tenant: str
    custom: CustomPrices | None = None
    customer_keys: tuple[str, ...] | None = None
    session_keys: tuple[str, ...] | None = None
    limits: Limits = field(default_factory=Limits)
    detect_duplicates: bool = True
    """Charge one call reported in two traces once (``storage.mark_duplicates``)."""
