"""OTLP receiver: gRPC :4317 and HTTP ``/v1/traces``, authenticated, priced, group-committed to ClickHouse."""

from __future__ import annotations

from ._batcher import Batcher, BatcherStats
from ._decode import DecodedRequest, decode_request
from ._exceptions import (
    BadPayload,
    Overloaded,
    PermissionDenied,
    ReceiverError,
    ReceiverStopped,
    StorageUnavailable,
    Unauthenticated,
    Unstorable,
)
from ._grpc import EXPORT_METHOD
from ._ingest import Admission, Ingestor
from ._json import parse_json_request
from ._limits import Limits
from ._receiver import Receiver
from ._rules import TenantRules

__all__ = [
    "Admission",
    "BadPayload",
    "Batcher",
    "BatcherStats",
    "DecodedRequest",
    "EXPORT_METHOD",
    "Ingestor",
    "Limits",
    "Overloaded",
    "PermissionDenied",
    "Receiver",
    "ReceiverError",
    "ReceiverStopped",
    "StorageUnavailable",
    "TenantRules",
    "Unauthenticated",
    "Unstorable",
    "decode_request",
    "parse_json_request",
]
