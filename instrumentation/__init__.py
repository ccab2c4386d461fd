"""The llmobserve SDK (``llmobserve.instrumentation``, re-exported as ``llmobserve``): two lines to see every LLM call priced and attributed.

    from llmobserve import observe, agent, customer
    observe()  # LLMOBSERVE_API_KEY / LLMOBSERVE_ENDPOINT

Imports only OpenTelemetry, httpx's instrumentation and ``semconv``; never server code.
"""

from __future__ import annotations

from ._caps_errors import SpendingCapExceeded
from ._labels import agent, customer, section, tool, wrap_all_tools
from ._reservations import InvalidReservation, ReservationUnavailable
from ._setup import NoApiKeyError, Observation, export_target, observe, shutdown, span_exporter
from ._snapshot import Labels, labels

__all__ = [
    "InvalidReservation",
    "Labels",
    "NoApiKeyError",
    "Observation",
    "ReservationUnavailable",
    "SpendingCapExceeded",
    "agent",
    "customer",
    "export_target",
    "labels",
    "observe",
    "section",
    "shutdown",
    "span_exporter",
    "tool",
    "wrap_all_tools",
]
