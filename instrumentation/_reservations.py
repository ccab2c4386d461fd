"""Strict caps (``observe(strict_caps=True)``): reserve a call's worst case at the server before it
leaves, settle it with the real usage after.

The SDK sends facts (labels, request size, output limit, token counts); the server prices them.
Reserving is the one synchronous round trip strict mode adds to a call. Settling and releasing run
on a daemon thread (``llmobserve-caps-settle``) so the app never waits for them; ``flush`` (called
by ``Observation.flush`` and ``shutdown``) waits until they are sent. A reservation whose settle is
lost anyway expires at the server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from ._caps_api import CapsApi, amount, moment
from ._caps_errors import SpendingCapExceeded, blocked
from ._worker import Worker

if TYPE_CHECKING:
    from ._caps_state import Labels

__all__ = ["Reservations", "Ticket"]

log = logging.getLogger("llmobserve")

_WARN_EVERY_S = 60.0
_RETRY_AFTER_S = 0.5
# After a transport error, calls skip reserving this long: an API that drops packets must not cost
# every call a timeout.
_SKIP_AFTER_ERROR_S = 10.0


@dataclass(slots=True, eq=False)
class Ticket:
    """One admitted call that the guard follows to its end."""

    labels: Labels
    reserve: bool  # strict mode: reserve at the server before sending
    input_bytes: int
    max_output_tokens: int | None
    reservation_id: str | None = None
    done: bool = False


class Reservations:
    def __init__(self, api: CapsApi, period_of: Callable[[str], str]) -> None:
        self._api = api
        self._period_of = period_of  # a cap's period, for the refusal's message
        self._worker = Worker("llmobserve-caps-settle")
        self._warned_at = -_WARN_EVERY_S
        self._skip_until = 0.0

    def restart_after_fork(self) -> None:
        self._worker = Worker("llmobserve-caps-settle")  # the parent's queue belongs to the parent

    def flush(self, timeout: float) -> bool:
        return self._worker.wait(timeout)

    def reserve(self, ticket: Ticket) -> None:
        """Reserve, or raise ``SpendingCapExceeded`` if the server refuses. Fails open: an unreachable
        or failing server lets the call go (with a warning at most once a minute); after a transport
        error, calls go without trying for ``_SKIP_AFTER_ERROR_S``."""
        if time.monotonic() < self._skip_until:
            return
        labels = ticket.labels
        body = {
            "provider": labels.provider,
            "model": labels.models[0] if labels.models else "",
            "agent": labels.agent,
            "customer": labels.customer,
            "service": labels.service,
            "input_bytes": ticket.input_bytes,
            "max_output_tokens": ticket.max_output_tokens,
        }
        try:
            response = self._api.reserve(body)
        except httpx.HTTPError as exc:
            self._skip_until = time.monotonic() + _SKIP_AFTER_ERROR_S
            self._warn(f"{type(exc).__name__}: {exc}")
            return
        if response.status_code == 409:
            raise self._refusal(response)
        if response.status_code not in (200, 201):
            self._warn(f"HTTP {response.status_code}")
            return
        try:
            found = response.json().get("id")
        except (ValueError, AttributeError):
            found = None
        ticket.reservation_id = str(found) if found else None  # None: no cap applies, nothing to settle

    def _refusal(self, response: httpx.Response) -> SpendingCapExceeded:
        try:
            entry: dict[str, Any] = response.json()["detail"]["blocked_by"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            entry = {}

        def money(key: str) -> Any:
            try:
                return amount(entry.get(key))
            except (ValueError, ArithmeticError):
                return amount(0)

        try:
            resets_at = moment(entry.get("resets_at"))
        except ValueError:
            resets_at = None
        cap_id = str(entry.get("cap_id") or "")
        return blocked(
            cap_id,
            str(entry.get("name") or ""),
            str(entry.get("scope") or ""),
            entry.get("value"),
            money("spend_usd"),
            money("limit_usd"),
            resets_at,
            self._period_of(cap_id),
        )

    def _warn(self, reason: str) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            log.warning(
                "llmobserve: strict spending caps: cannot reserve at %s (%s); calls go ahead unreserved "
                "until it answers",
                self._api.base_url,
                reason,
            )

    def conclude(self, ticket: Ticket, usage: Any) -> None:
        """Settle with ``usage`` (a ``UsageState`` in OTel terms), or release when it is None."""
        if ticket.done:
            return
        ticket.done = True
        reservation = ticket.reservation_id
        if reservation is None:
            return
        if usage is None:
            self._worker.submit(lambda: self._send(self._api.release, reservation))
            return
        tokens = {
            "input_tokens": usage.input,
            "output_tokens": usage.output,
            "cache_read_tokens": usage.cache_read,
            "cache_write_tokens": usage.cache_write,
        }
        self._worker.submit(lambda: self._send(self._api.settle, reservation, tokens))

    @staticmethod
    def _send(method: Callable[..., httpx.Response], *args: Any) -> None:
        for attempt in range(2):  # one retry on a transport error; a 404 (expired) is final
            try:
                response = method(*args)
            except httpx.HTTPError:
                if attempt:
                    raise
                time.sleep(_RETRY_AFTER_S)
                continue
            if response.status_code >= 400 and response.status_code != 404:
                log.debug("llmobserve: reservation %s answered HTTP %d", args[0], response.status_code)
            return
