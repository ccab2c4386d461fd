"""What one tenant changes about decoding, as one value that travels to the decode workers."""

from __future__ import annotations

from dataclasses import dataclass

from llmobserve.pricing import CustomPrices

__all__ = ["NO_RULES", "TenantRules"]


@dataclass(frozen=True, slots=True)
class TenantRules:
    """A tenant's custom prices and its ordered lists of the attributes that name a span's customer
    and session. None means the default: the catalogue alone, ``semconv``'s CUSTOMER_KEYS / SESSION_KEYS."""

    custom: CustomPrices | None = None
    customer_keys: tuple[str, ...] | None = None
    session_keys: tuple[str, ...] | None = None


NO_RULES = TenantRules()
