"""Receiver errors.

ReceiverError
 ├── Overloaded        the write queue is full: answer UNAVAILABLE / 503 with a retry hint
 ├── ReceiverStopped   shutting down: answer UNAVAILABLE / 503
 ├── BadPayload        the body cannot be decoded at all: INVALID_ARGUMENT / 400, not retried
 │    └── Unstorable   decoded, but storage refused these rows while it took others: same answer
 ├── StorageUnavailable  storage is down: UNAVAILABLE / 503, retried
 ├── Unauthenticated   missing or unknown key: UNAUTHENTICATED / 401
 └── PermissionDenied  a key without the ingest scope: PERMISSION_DENIED / 403
"""

from __future__ import annotations

__all__ = [
    "BadPayload",
    "Overloaded",
    "PermissionDenied",
    "ReceiverError",
    "ReceiverStopped",
    "StorageUnavailable",
    "Unauthenticated",
    "Unstorable",
]


class ReceiverError(Exception):
    """Root of the receiver's errors."""


class Overloaded(ReceiverError):
    """Too many spans are waiting to be written."""


class ReceiverStopped(ReceiverError):
    """The receiver no longer accepts work."""


class BadPayload(ReceiverError):
    """The request body is not a valid OTLP export request."""


class Unstorable(BadPayload):
    """Storage refused this request's rows when written alone while it answered otherwise: retrying
    the same content can only fail again, so it is final for the sender and harmless to others."""


class StorageUnavailable(ReceiverError):
    """Storage did not take the write and does not answer: nothing is acknowledged, the sender retries."""


class Unauthenticated(ReceiverError):
    """No key, or a key we do not know (or that was revoked)."""


class PermissionDenied(ReceiverError):
    """A valid key without the ``ingest`` scope."""
