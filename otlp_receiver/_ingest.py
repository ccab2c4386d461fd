"""The transport-independent ingest path shared by OTLP/gRPC and OTLP/HTTP:
authenticate → decode, normalize, price (in worker processes) → group-commit write → answer."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Protocol

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from llmobserve.control import KEY_CHECKS, MISS, Authenticator, LookupsBusy, Miss, Principal, bearer_token
from llmobserve.pricing import Pricer, TenantPriceCache

from ._batcher import Batcher
from ._exceptions import BadPayload, Overloaded, PermissionDenied, StorageUnavailable, Unauthenticated
from ._limits import Limits
from ._rules import TenantRules
from ._workers import DecodedTable, DecodePool, decode_to_table

__all__ = ["Admission", "Ingestor"]

log = logging.getLogger("llmobserve.receiver")

_SKEW_WARN_EVERY_S = 60.0
_SKEW_WARN_KEYS = 10_000  # (tenant, service) pairs remembered; a flood of names cannot grow it


class _SkewWarnings:
    """Say that a sender's clock runs ahead at most once a minute per tenant and service."""

    def __init__(self) -> None:
        self._last: OrderedDict[tuple[str, str], float] = OrderedDict()  # the oldest leaves in O(1)
        self.spans = 0

    def note(self, tenant: str, decoded: DecodedTable) -> None:
        self.spans += decoded.clock_skewed
        now = time.monotonic()
        for service in sorted(decoded.skewed_services)[:10]:
            key = (tenant, service)
            if now - self._last.get(key, -_SKEW_WARN_EVERY_S) < _SKEW_WARN_EVERY_S:
                continue
            if len(self._last) >= _SKEW_WARN_KEYS:
                self._last.popitem(last=False)
            self._last[key] = now
            log.warning(
                "tenant %r, service %r: spans start more than 5 minutes in the future (clock skew); "
                "stored at the receive time, original start kept in llmobserve.clock_skew.*",
                tenant,
                service,
            )


class Admission(Protocol):
    """Whether a tenant may store new spans now (billing's plan limits)."""

    def refusal(self, tenant: str) -> str | None:
        """Why the tenant's new spans are refused, or None."""

    def refused(self, tenant: str, spans: int) -> None:
        """Count spans refused."""

    def accepted(self, tenant: str, spans: int) -> None:
        """Count spans stored (acknowledged)."""


def _span_count(body: bytes) -> int:
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except (DecodeError, RecursionError) as exc:
        raise BadPayload(f"body is not an OTLP ExportTraceServiceRequest: {exc}") from exc
    return sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)


def _token(authorization: str | None) -> str:
    token = bearer_token(authorization)
    if token is None:
        raise Unauthenticated("missing API key: send 'Authorization: Bearer <key>'")
    return token


def _lookup_failed(exc: Exception) -> StorageUnavailable:
    log.error("key lookup failed: %s", exc)
    return StorageUnavailable("cannot check the API key right now; retry later")


def _ingest_principal(found: Principal | None | Miss) -> Principal:
    if found is None or isinstance(found, Miss):
        raise Unauthenticated("unknown or revoked API key")
    if not found.allows("ingest"):
        raise PermissionDenied("this API key has no 'ingest' scope")
    return found


class Ingestor:
    def __init__(
        self,
        authenticator: Authenticator,
        pricer: Pricer,
        batcher: Batcher,
        pool: DecodePool | None = None,
        write_timeout: float = 30.0,
        custom_prices: TenantPriceCache | None = None,
        limits: Limits | None = None,
        attribution: Callable[[str], dict[str, tuple[str, ...] | None]] | None = None,
        detect_duplicates: Callable[[str], bool] | None = None,
        admission: Admission | None = None,
    ) -> None:
        """``attribution(tenant)``: the tenant's own customer and session attribute lists (None: the
        default); ``detect_duplicates(tenant)``: whether one call reported in two traces is charged once;
        ``admission``: refuses a tenant's spans (a free plan past its allowance)."""
        self.authenticator = authenticator
        self.custom_prices = custom_prices
        self.pricer = pricer
        self.batcher = batcher
        self.pool = pool
        self.write_timeout = write_timeout
        self.limits = limits or Limits()
        self.attribution = attribution
        self.detect_duplicates = detect_duplicates
        self.admission = admission
        self.skew = _SkewWarnings()

    def authenticate(self, authorization: str | None) -> Principal:
        """For worker threads (gRPC): a lookup may wait up to ``KEY_CHECKS.wait_s`` for its turn.

        Raises Unauthenticated, PermissionDenied, or (retryable) StorageUnavailable or Overloaded."""
        token = _token(authorization)
        found = KEY_CHECKS.cached(self.authenticator, token)
        if found is MISS:
            try:
                found = KEY_CHECKS.resolve(self.authenticator, token)
            except LookupsBusy as exc:
                raise Overloaded(str(exc)) from None
            except Exception as exc:  # the key store did not answer: not the sender's fault, so retryable
                raise _lookup_failed(exc) from exc
        return _ingest_principal(found)

    async def authenticate_async(self, authorization: str | None) -> Principal:
        """``authenticate`` for the event loop: a cached key is answered in place, a lookup runs off the loop."""
        token = _token(authorization)
        found = KEY_CHECKS.cached(self.authenticator, token)
        if found is MISS:
            try:
                found = await KEY_CHECKS.resolve_async(self.authenticator, token)
            except LookupsBusy as exc:
                raise Overloaded(str(exc)) from None
            except Exception as exc:
                raise _lookup_failed(exc) from exc
        return _ingest_principal(found)

    def _decode(self, body: bytes, tenant: str) -> DecodedTable:
        rules = self.rules(tenant)
        if self.pool is None:
            return decode_to_table(body, rules, self.pricer)
        return self.pool.decode(body, rules)

    def rules(self, tenant: str) -> TenantRules:
        """What decoding this tenant's requests depends on (read through the per-tenant caches)."""
        custom = self.custom_prices.for_tenant(tenant) if self.custom_prices is not None else None
        lists = self.attribution(tenant) if self.attribution is not None else {}
        detect = self.detect_duplicates(tenant) if self.detect_duplicates is not None else True
        return TenantRules(tenant, custom, lists.get("customer"), lists.get("session"), self.limits, detect)

    def export(self, body: bytes, principal: Principal) -> ExportTraceServiceResponse:
        """Store every valid span of a serialized ExportTraceServiceRequest; return only after
        they are written. Raises BadPayload for a body that is not one.

        Invalid spans are reported through ``partial_success`` (never retried by exporters);
        the valid ones in the same request are stored. So are the spans of a tenant ``admission``
        refuses: not retryable, and the message says why.
        """
        if self.admission is not None:
            refusal = self.admission.refusal(principal.tenant)
            if refusal is not None:
                refused = _span_count(body)
                self.admission.refused(principal.tenant, refused)
                response = ExportTraceServiceResponse()
                response.partial_success.rejected_spans = refused
                response.partial_success.error_message = refusal
                return response
        self.batcher.expect()
        try:
            decoded = self._decode(body, principal.tenant)
        except BaseException:
            self.batcher.cancel()
            raise
        if decoded.clock_skewed:
            self.skew.note(principal.tenant, decoded)
        future = self.batcher.submit(decoded.table, expected=True, months=decoded.months)
        if decoded.table.num_rows:
            try:
                future.result(timeout=self.write_timeout)
            except FutureTimeout as exc:
                # Still queued or being written: the exporter retries and dedup absorbs the repeat.
                raise Overloaded("the write did not complete in time") from exc
            if self.admission is not None:
                self.admission.accepted(principal.tenant, decoded.table.num_rows)
        response = ExportTraceServiceResponse()
        if decoded.rejected:
            response.partial_success.rejected_spans = decoded.rejected
            response.partial_success.error_message = decoded.error_message
        return response
