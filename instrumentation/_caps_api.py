"""The spending-cap routes of the llmobserve HTTP API, as the SDK calls them.

One ``httpx.Client`` of our own; every request runs under OTel's ``suppress_http_instrumentation``,
so our httpx instrumentation neither traces it nor checks it against caps (the OTLP exporters
stay out of the way the same way: grpc and ``requests`` are not instrumented by us at all).

    GET    /api/v1/caps/status?customer=..&model=provider/model   caps, spend, per-model rates
    POST   /api/v1/caps/reservations                              strict mode: reserve a call's worst case
    POST   /api/v1/caps/reservations/{id}/settle                  ... then its real usage
    DELETE /api/v1/caps/reservations/{id}                         ... or release it (no answer, no usage)
"""

from __future__ import annotations

import os
import weakref
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from opentelemetry.instrumentation.utils import suppress_http_instrumentation

__all__ = ["CapsApi", "amount", "moment"]

_STATUS_TIMEOUT_S = 3.0  # polled every 2 s: an answer is at most ~5 s old when it lands
_WRITE_TIMEOUT_S = 5.0


def amount(value: Any) -> Decimal:
    """A money field: an exact decimal string (numbers are accepted, booleans and null are not)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an amount: {value!r}")
    return Decimal(str(value))


def moment(value: Any) -> datetime | None:
    """An ISO 8601 instant (``Z`` or an offset; naive means UTC), None for null."""
    if not value:
        return None
    found = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return found if found.tzinfo else found.replace(tzinfo=UTC)


class CapsApi:
    """Thin client: answers are returned as ``httpx.Response``; transport errors raise ``httpx.HTTPError``."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._client = self._new_client()
        ref = weakref.ref(self)

        def after_fork() -> None:  # a weak reference: registering must not keep the client alive
            api = ref()
            if api is not None:
                api._after_fork()

        os.register_at_fork(after_in_child=after_fork)

    def _new_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.base_url}/api/v1/caps",
            timeout=httpx.Timeout(_WRITE_TIMEOUT_S, connect=2.0),
            headers={"authorization": f"Bearer {self._api_key}"},
        )

    def _after_fork(self) -> None:  # never share the parent's pooled connections
        self._client = self._new_client()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with suppress_http_instrumentation():
            return self._client.request(method, path, **kwargs)

    def status(self, customers: list[str], models: list[str], timeout: float | None = None) -> httpx.Response:
        params = [("customer", c) for c in customers] + [("model", m) for m in models]
        return self._send("GET", "/status", params=params, timeout=_STATUS_TIMEOUT_S if timeout is None else timeout)

    def reserve(self, body: dict[str, Any]) -> httpx.Response:
        return self._send("POST", "/reservations", json=body)

    def settle(self, reservation_id: str, usage: dict[str, int]) -> httpx.Response:
        return self._send("POST", f"/reservations/{reservation_id}/settle", json=usage)

    def release(self, reservation_id: str) -> httpx.Response:
        return self._send("DELETE", f"/reservations/{reservation_id}")

    def close(self) -> None:
        self._client.close()
