"""Money as the API and the dashboard write it."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["exact_text"]


def exact_text(value: Decimal) -> str:
    """The amount exactly, in plain notation, without the storage scale's trailing zeros
    ("25.000000000000" -> "25", "1E-7" -> "0.0000001"): what a user typed reads back unchanged."""
    return format(value.normalize(), "f")
