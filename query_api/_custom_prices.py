"""Stored custom prices ↔ the pricing package's rules."""

from __future__ import annotations

import calendar

from llmobserve.pricing import CustomPrice
from llmobserve.storage import Store, StoredPrice

__all__ = ["rules_for", "to_rule"]


def to_rule(price: StoredPrice) -> CustomPrice:
    effective_ns = calendar.timegm(price.effective_from.utctimetuple()) * 10**9
    return CustomPrice(price.price_id, price.provider, price.model, price.is_regex, effective_ns,
                       price.input_per_mtok, price.output_per_mtok, price.cache_read_per_mtok,
                       price.cache_write_per_mtok, price.reasoning_per_mtok)


def rules_for(store: Store, tenant: str) -> list[CustomPrice]:
    return [to_rule(p) for p in store.list_prices(tenant)]
