"""The HTTP query API (FastAPI): cost breakdowns, pricing, and (later) traces, exports, caps and keys."""

from __future__ import annotations

from ._app import create_app
from ._custom_prices import rules_for
from ._reprice import RepriceResult, reprice

__all__ = ["RepriceResult", "create_app", "reprice", "rules_for"]
