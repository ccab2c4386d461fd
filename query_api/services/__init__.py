"""The service layer: every write and every read the API's routes and the dashboard's pages share, as
plain functions of the store (or the ``Services``) and the tenant. Routes and pages stay thin: they
turn a request into arguments and the answer (or a ``ServiceError``) into a response."""

from __future__ import annotations

from . import accounts, alerts, caps, costs, exports, keys, people, prices, reservations, runs, settings
from ._services import Services
from .errors import BadRequest, Conflict, Invalid, NotFound, RateLimited, ServiceError, Unavailable
from .sessions import Session, SessionStore
from .timerange import parse_iso_time

__all__ = [
    "BadRequest",
    "Conflict",
    "Invalid",
    "NotFound",
    "RateLimited",
    "ServiceError",
    "Services",
    "Session",
    "SessionStore",
    "Unavailable",
    "accounts",
    "alerts",
    "caps",
    "costs",
    "exports",
    "keys",
    "parse_iso_time",
    "people",
    "prices",
    "reservations",
    "runs",
    "settings",
]
