"""Strict caps (``observe(strict_caps=True)``): reserve a call's worst case at the server before it
leaves, settle it with the real usage after.

The SDK sends facts (labels, request size, output limit, token counts); the server prices them.
Reserving is the one synchronous round trip strict mode adds to a call. Settling and releasing run
on a daemon thread (``llmobserve-caps-settle``) so the app never waits for them; ``flush`` (called
by ``Observation.flush`` and ``shutdown``) waits until they are sent. A reservation whose settle is
lost anyway expires at the server.

What the server answers decides the call (it is never sent unreserved unless the server is out):

- 201 / 200: reserved (or no cap applies); 409: a cap would be overrun, ``SpendingCapExceeded``;
- 429 (the tenant's ledger is full: too many open reservations, or settled calls whose spans do not
  reach the server): asked again twice within 0.35 s, then ``ReservationUnavailable``, a
  ``SpendingCapExceeded``: sending it unreserved is what strict mode exists to prevent;
- 422 (the server will not take what it was told, e.g. a label over 256 characters): a bug in the
  app, not an outage, so ``InvalidReservation`` names the label and the limit;
- no answer, or 5xx / any other status: the server is out, fail open (see ``reserve``).

Both errors pass through the provider SDKs unchanged and unretried, as ``blocked`` makes
``SpendingCapExceeded`` do (see ``_caps_errors``).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._caps_api import CapsApi, amount, moment
from ._caps_errors import _SDK_ROOT_ERRORS, SpendingCapExceeded, blocked
from ._worker import Worker

if TYPE_CHECKING:
    from ._caps_state import Labels

__all__ = ["REFUSALS", "InvalidReservation", "ReservationUnavailable", "Reservations", "Ticket"]

log = logging.getLogger("llmobserve")

_WARN_EVERY_S = 60.0
_RETRY_AFTER_S = 0.5
# A full ledger (429) drains as calls settle: worth a second look or two, but not at the cost of a
# call waiting seconds (the server's Retry-After) before it is refused anyway.
_BUSY_RETRIES_S = (0.1, 0.25)
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


class ReservationUnavailable(SpendingCapExceeded):
    """Strict mode: the server cannot take a reservation now (HTTP 429: the tenant's ledger is
    full), so the call was not sent. No cap is exceeded: the cap fields are empty, ``resets_at`` is
    None and ``reason`` says what the server answered."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__("", "", "", None, Decimal(0), Decimal(0), None)

    def _message(self) -> str:
        return f"strict spending caps: the server cannot reserve this call now ({self.reason}), so it was not sent"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ReservationUnavailable, (self.reason,))


class InvalidReservation(ValueError):
    """Strict mode: the server refused to reserve for this call because of what the app labelled it
    with (HTTP 422, e.g. a customer id over 256 characters), so the call was not sent.

    Attributes:
        field: what was refused (``customer``, ``agent``, ``service``, ``model``, ``provider``, ...).
        limit: the most the server accepts (characters for a label), None when it did not say.
        length: how long the label sent was (None: not a label).
        detail: the server's own words.
    """

    def __init__(self, field: str, limit: int | None, length: int | None, detail: str) -> None:
        self.field = field
        self.limit = limit
        self.length = length
        self.detail = detail
        super().__init__(self._message())

    def _message(self) -> str:
        if self.limit is not None and self.length is not None:
            return (
                f"strict spending caps: label {self.field!r} is {self.length} characters long and the server "
                f"takes at most {self.limit}, so the call was not sent (label with an id rather than a name)"
            )
        return f"strict spending caps: the server refused the call's {self.field!r} ({self.detail}), so it was not sent"

    def __reduce__(self) -> tuple[Any, ...]:
        return (InvalidReservation, (self.field, self.limit, self.length, self.detail))


REFUSALS: tuple[type[Exception], ...] = (SpendingCapExceeded, InvalidReservation)
"""What the request hook lets out of the SDK's transport: everything else there fails open."""

_E = TypeVar("_E", bound=Exception)
_MIXED: dict[tuple[type, ...], type] = {}


def _passing(cls: type[_E], *args: Any) -> _E:
    """``cls(*args)``, as a subclass that also derives from each loaded provider SDK's root error so
    the SDK re-raises it unchanged and unretried (``blocked`` does this for ``SpendingCapExceeded``)."""
    roots = []
    for module_name, error_name in _SDK_ROOT_ERRORS:
        error = getattr(sys.modules.get(module_name), error_name, None)
        if isinstance(error, type) and issubclass(error, Exception):
            roots.append(error)
    key = (cls, *roots)
    mixed = _MIXED.get(key)
    if mixed is None:
        mixed = cls
        if roots:
            try:
                mixed = type(cls.__name__, (cls, *roots), {"__module__": cls.__module__, "__doc__": cls.__doc__})
            except TypeError:  # an SDK's root error with an incompatible layout: the plain class
                mixed = cls
        _MIXED[key] = mixed
    return mixed(*args)  # type: ignore[no-any-return]  # a cls subclass made with type()


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
        """Reserve, or raise: ``SpendingCapExceeded`` if a cap would be overrun or the server cannot
        reserve now (429), ``InvalidReservation`` if it refuses the call's labels (422). Fails open
        only when the server is out: no answer, 5xx or another status lets the call go (with a
        warning at most once a minute); after a transport error, calls go without trying for
        ``_SKIP_AFTER_ERROR_S``."""
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
        for pause in (*_BUSY_RETRIES_S, None):
            try:
                response = self._api.reserve(body)
            except httpx.HTTPError as exc:
                self._skip_until = time.monotonic() + _SKIP_AFTER_ERROR_S
                self._warn(f"{type(exc).__name__}: {exc}")
                return
            if response.status_code != 429:
                break
            if pause is None:
                raise _passing(ReservationUnavailable, f"HTTP 429: {_detail(response)}")
            time.sleep(pause)
        if response.status_code == 409:
            raise self._refusal(response)
        if response.status_code == 422:
            raise _invalid(response, body)
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


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError, TypeError):
        return response.text[:200]
    return str(detail)[:200]


def _invalid(response: httpx.Response, body: dict[str, Any]) -> InvalidReservation:
    """The first field the server refused, with its limit when the body we sent shows it was a length."""
    try:
        problem: dict[str, Any] = response.json()["detail"][0]
        field = str(problem["loc"][-1])
    except (ValueError, KeyError, IndexError, TypeError):
        return _passing(InvalidReservation, "reservation", None, None, _detail(response))
    message = str(problem.get("msg") or "")
    sent = body.get(field)
    limit = _number_in(message) if isinstance(sent, str) else None
    return _passing(InvalidReservation, field, limit, len(sent) if isinstance(sent, str) else None, message)


def _number_in(message: str) -> int | None:
    """256 in pydantic's "String should have at most 256 characters"."""
    digits = [word for word in message.split() if word.isdigit()]
    return int(digits[0]) if digits else None
