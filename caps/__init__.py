"""Spending caps: periods, spend and status, the monitor that fires alerts, strict-mode
reservations and the per-tenant status cache; ``caps.notify`` delivers the alerts."""

from __future__ import annotations

from ._call_cost import DEFAULT_MAX_OUTPUT_TOKENS, call_cost, rates
from ._monitor import CapMonitor, alert_message, send_alerts
from ._periods import EPOCH, period_window
from ._reservations import Blocked, Reservation, Reservations, TooManyReservations
from ._status import CapStatus, Labels, applies_to, blocking, evaluate, state_of, utcnow
from ._status_cache import StatusCache

__all__ = [
    "Blocked",
    "CapMonitor",
    "CapStatus",
    "DEFAULT_MAX_OUTPUT_TOKENS",
    "EPOCH",
    "Labels",
    "Reservation",
    "Reservations",
    "StatusCache",
    "TooManyReservations",
    "alert_message",
    "applies_to",
    "blocking",
    "call_cost",
    "evaluate",
    "period_window",
    "rates",
    "send_alerts",
    "state_of",
    "utcnow",
]
