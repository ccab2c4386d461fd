"""The HTTP query API (FastAPI): cost breakdowns, pricing, and (later) traces, exports, caps and keys."""

from __future__ import annotations

from ._app import create_app
from ._cap_monitor import CapMonitor
from ._cap_status import utcnow
from ._notifiers import Notifier
from ._reservations import Reservations
from ._body_limit import BodyLimit
from ._custom_prices import rules_for
from ._litellm import LiteLLMImport, parse_litellm
from ._reprice import RepriceResult, reprice
from ._timerange import parse_iso_time

__all__ = ["BodyLimit", "CapMonitor", "LiteLLMImport", "Notifier", "RepriceResult", "Reservations", "create_app", "parse_iso_time", "parse_litellm", "reprice", "rules_for", "utcnow"]
