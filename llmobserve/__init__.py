"""llmobserve: every LLM call your app makes, priced and attributed.

    from llmobserve import observe, agent, customer
    observe()  # LLMOBSERVE_API_KEY / LLMOBSERVE_ENDPOINT

This is the only import name the package installs. The SDK names below load lazily, so server
parts (``llmobserve.storage``, ``llmobserve.otlp_receiver``, ...) and the CLI do not pull in the
OpenTelemetry SDK, and ``import llmobserve`` pulls in no server dependency.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .instrumentation import (
        InvalidReservation,
        Labels,
        Observation,
        ReservationUnavailable,
        SpendingCapExceeded,
        agent,
        customer,
        labels,
        observe,
        section,
        shutdown,
        tool,
        wrap_all_tools,
    )

__all__ = [
    "InvalidReservation",
    "Labels",
    "Observation",
    "ReservationUnavailable",
    "SpendingCapExceeded",
    "agent",
    "customer",
    "labels",
    "observe",
    "section",
    "shutdown",
    "tool",
    "wrap_all_tools",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        value = getattr(import_module(".instrumentation", __name__), name)
        globals()[name] = value  # later look-ups skip this hook
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
