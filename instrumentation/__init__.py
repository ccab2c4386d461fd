"""The llmobserve SDK: two lines to see every LLM call priced and attributed.

    from instrumentation import observe, agent, customer
    observe()  # LLMOBSERVE_API_KEY / LLMOBSERVE_ENDPOINT

Imports only OpenTelemetry, httpx's instrumentation and ``semconv``; never server code.
"""

from __future__ import annotations

from ._labels import agent, customer, section, tool, wrap_all_tools
from ._setup import Observation, observe, shutdown

__all__ = ["Observation", "agent", "customer", "observe", "section", "shutdown", "tool", "wrap_all_tools"]
