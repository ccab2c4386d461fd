"""Delivering one spending-cap alert: e-mail through SendGrid and JSON webhooks, retried, every result kept.

``Notifier.deliver`` never raises; what happened to each channel comes back as a ``Delivery``. Both
channels retry on timeouts, connection errors, 429 and 5xx with exponential backoff (a numeric
``Retry-After`` wins), and give up at once on any other answer that is not 2xx. Webhook redirects are
not followed: the URL a tenant saved is the only place its alerts go.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from http.client import HTTPException
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit

import httpx
import python_http_client.exceptions
import sendgrid
from sendgrid.helpers.mail import Mail
from setproctitle import setthreadtitle

from ._message import AlertMessage, html_body, payload, subject, text_body
from ._policy import blocked_reason

__all__ = ["EMAIL_OFF", "Delivery", "Notifier"]

_log = logging.getLogger("llmobserve.alerts")

EMAIL_OFF = "e-mail is off: SENDGRID_API_KEY is not set"
MAX_DELAY_S = 30.0  # no backoff or Retry-After holds a delivery longer than this
_SNIPPET = 200  # characters of an error answer kept in Delivery.error


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one channel of one alert."""

    channel: str  # "email" or "webhook"
    target: str  # the addresses joined by ", " (one SendGrid request), or the webhook URL
    ok: bool
    attempts: int
    status: int | None  # last HTTP status; None when nothing answered
    error: str  # "" when ok
    at: datetime  # aware UTC, when the last attempt finished

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "target": self.target,
            "ok": self.ok,
            "attempts": self.attempts,
            "status": self.status,
            "error": self.error,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class _Try:
    """The outcome of one attempt."""

    ok: bool
    status: int | None = None
    error: str = ""
    retry: bool = False
    retry_after: float | None = None


class Notifier:
    """Sends alerts by e-mail (SendGrid) and to webhooks, each channel of a message at the same time.

    Parameters:
        sendgrid_api_key: None or "" turns e-mail off (each e-mail delivery is then recorded as off).
        sendgrid_host: SendGrid's API base URL (a stand-in's in tests).
        sender: the From address; SendGrid accepts only verified senders.
        attempts: tries per channel, the first included.
        backoff_s: wait before the second try; it doubles for each further one, up to 30 s.
        timeout_s: per connect and per read, for both channels.
        sleep: how to wait between tries (tests pass a recorder).
        max_parallel: channels delivered at once, over all ``deliver`` calls.
    """

    def __init__(
        self,
        sendgrid_api_key: str | None,
        *,
        sendgrid_host: str = "https://api.sendgrid.com",
        sender: str = "alerts@llmobserve.dev",
        attempts: int = 4,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        max_parallel: int = 8,
        allow_private: bool = True,
    ) -> None:
        """``allow_private``: deliver webhooks to loopback and private addresses too (see ``_webhook_policy``)."""
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        if backoff_s < 0:
            raise ValueError(f"backoff_s must not be negative, got {backoff_s}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be more than 0, got {timeout_s}")
        if max_parallel < 1:
            raise ValueError(f"max_parallel must be at least 1, got {max_parallel}")
        self._allow_private = allow_private
        self._key = sendgrid_api_key or None
        self._host = sendgrid_host.rstrip("/")
        self._sender = sender
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._http = httpx.Client(
            timeout=timeout_s, follow_redirects=False, headers={"User-Agent": "llmobserve-alerts"}
        )
        self._pool = ThreadPoolExecutor(
            max_workers=max_parallel,
            thread_name_prefix="llmobserve-alerts",
            initializer=setthreadtitle,
            initargs=("llmo-notify",),
        )

    @property
    def email_enabled(self) -> bool:
        return self._key is not None

    def close(self) -> None:
        """Wait for deliveries under way, then release the threads and connections."""
        self._pool.shutdown(wait=True)
        self._http.close()

    def deliver(self, message: AlertMessage, recipients: Sequence[str], webhooks: Sequence[str]) -> list[Delivery]:
        """One Delivery for the e-mail (if there are recipients) and one per webhook, in that order; never raises."""
        # Each slot is a finished Delivery, or a job to run on the pool (then its future).
        slots: list[Delivery | tuple[str, str, Callable[[], Delivery]]] = []
        addresses = _unique(recipients)
        if addresses:
            target = ", ".join(addresses)
            if self._key is None:
                slots.append(_failed("email", target, EMAIL_OFF, attempts=0))
            else:
                slots.append(("email", target, lambda: self._email(message, addresses)))
        for url in webhooks:
            slots.append(("webhook", url, partial(self._webhook, message, url)))
        futures: list[Future[Delivery] | None] = []
        for slot in slots:
            try:
                futures.append(None if isinstance(slot, Delivery) else self._pool.submit(self._run, message, *slot))
            except RuntimeError:  # after close() the pool takes no more work
                futures.append(None)
        deliveries = []
        for slot, future in zip(slots, futures):
            if isinstance(slot, Delivery):
                delivery = slot
            elif future is None:
                delivery = _failed(slot[0], slot[1], "the notifier is closed", attempts=0)
            else:
                try:
                    delivery = future.result()
                except BaseException as exc:  # _run catches everything; this is for the impossible
                    delivery = _failed(slot[0], slot[1], f"internal error: {exc!r}")
            if not delivery.ok:
                _report(message, delivery)
            deliveries.append(delivery)
        return deliveries

    # ------------------------------------------------------------------ one channel

    def _run(self, message: AlertMessage, channel: str, target: str, job: Callable[[], Delivery]) -> Delivery:
        try:
            return job()
        except Exception as exc:  # a bug in rendering or in a library: recorded, never raised into the monitor
            _log.exception("alert %s: %s delivery crashed", message.alert_id, channel)
            return _failed(channel, target, f"internal error: {exc!r}")

    def _retrying(self, channel: str, target: str, attempt: Callable[[], _Try]) -> Delivery:
        for number in range(1, self._attempts + 1):
            result = attempt()
            if result.ok or not result.retry or number == self._attempts:
                break
            delay = self._backoff_s * 2 ** (number - 1) if result.retry_after is None else result.retry_after
            _log.debug(
                "%s to %s: attempt %d failed (%s), retrying in %.2f s",
                channel,
                _redact(target),
                number,
                result.error,
                min(delay, MAX_DELAY_S),
            )
            self._sleep(min(delay, MAX_DELAY_S))
        return Delivery(channel, target, result.ok, number, result.status, result.error, datetime.now(UTC))

    def _email(self, message: AlertMessage, addresses: list[str]) -> Delivery:
        # One personalization per address: one request, yet no recipient sees the others' addresses.
        mail = Mail(
            from_email=self._sender,
            to_emails=addresses,
            subject=subject(message),
            plain_text_content=text_body(message),
            html_content=html_body(message),
            is_multiple=True,
        )
        client = sendgrid.SendGridAPIClient(self._key, host=self._host)
        # SendGridAPIClient takes no timeout (and urllib's default is none at all); the
        # python_http_client.Client under it does, and passes it to every request it builds.
        client.client.timeout = self._timeout_s
        return self._retrying("email", ", ".join(addresses), lambda: self._send_mail(client, mail))

    def _send_mail(self, client: sendgrid.SendGridAPIClient, mail: Mail) -> _Try:
        try:
            response = client.send(mail)
        except python_http_client.exceptions.HTTPError as exc:  # any status urllib does not count as success
            status = int(exc.status_code)
            headers = exc.headers if exc.headers is not None else {}
            return _answered(status, exc.body, headers.get("Retry-After"), headers.get("Location"))
        except (OSError, HTTPException) as exc:  # URLError and timeouts are OSErrors too
            return _Try(False, error=self._transport_error(exc), retry=True)
        return _answered(int(response.status_code), response.body, None, None)

    def _webhook(self, message: AlertMessage, url: str) -> Delivery:
        body = payload(message)
        headers = {"Idempotency-Key": message.alert_id}
        return self._retrying("webhook", url, lambda: self._post(url, body, headers))

    def _post(self, url: str, payload: dict[str, Any], headers: dict[str, str]) -> _Try:
        if not self._allow_private and (reason := blocked_reason(url)) is not None:
            return _Try(False, None, f"not sent: {reason} (LLMOBSERVE_WEBHOOKS_ALLOW_PRIVATE=true allows it)")
        try:
            with self._http.stream("POST", url, json=payload, headers=headers) as response:
                if response.is_success:
                    return _Try(True, response.status_code)
                # A receiver's error page can be huge: read only what the error message keeps.
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= 4 * _SNIPPET:
                        break
                return _answered(
                    response.status_code,
                    bytes(body),
                    response.headers.get("Retry-After"),
                    response.headers.get("Location"),
                )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return _Try(False, error=f"invalid webhook URL: {exc}")
        except httpx.TransportError as exc:
            return _Try(False, error=self._transport_error(exc), retry=True)
        except httpx.RequestError as exc:  # e.g. an error page that fails to decode: the answer is unusable
            return _Try(False, error=f"bad answer: {exc}")

    def _transport_error(self, exc: BaseException) -> str:
        """Nothing (usable) came back: say why in a few words."""
        chain = _causes(exc)
        if any(isinstance(e, ConnectionRefusedError) for e in chain):
            return "connection refused"
        if any(isinstance(e, (TimeoutError, httpx.TimeoutException)) for e in chain):
            return f"timed out after {self._timeout_s} s"
        if isinstance(exc, URLError) and not isinstance(exc.reason, str):
            exc = exc.reason
        return f"connection failed: {exc}" if str(exc) else f"connection failed: {type(exc).__name__}"


def _answered(status: int, body: bytes | str | None, retry_after: str | None, location: str | None) -> _Try:
    """An HTTP answer came: success, a redirect (not followed), or an error, retried when it may pass."""
    if 200 <= status < 300:
        return _Try(True, status)
    if 300 <= status < 400:
        return _Try(
            False, status, f"redirected ({status}) to {location or '(no Location)'}; redirects are not followed"
        )
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    snippet = " ".join(text.split())[:_SNIPPET]
    error = f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"
    retry = status == 429 or status >= 500
    return _Try(False, status, error, retry, _seconds(retry_after) if retry else None)


def _seconds(retry_after: str | None) -> float | None:
    """A numeric Retry-After (HTTP dates are ignored: the backoff applies)."""
    try:
        seconds = float(retry_after) if retry_after is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < float("inf") else None


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        if isinstance(current, URLError) and isinstance(current.reason, BaseException):
            chain.append(current.reason)
        current = current.__cause__ or current.__context__
    return chain


def _report(message: AlertMessage, delivery: Delivery) -> None:
    if delivery.channel == "email":
        where = f"{len(delivery.target.split(', '))} recipient(s)"
    else:
        where = _redact(delivery.target)
    _log.warning(
        "alert %s (cap %s, tenant %s): %s to %s failed after %d attempt(s): %s",
        message.alert_id,
        message.cap_id,
        message.tenant,
        delivery.channel,
        where,
        delivery.attempts,
        delivery.error,
    )


def _failed(channel: str, target: str, error: str, *, attempts: int = 1) -> Delivery:
    return Delivery(channel, target, False, attempts, None, error, datetime.now(UTC))


def _unique(addresses: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for address in addresses:
        if address.strip() and address.strip().lower() not in seen:
            seen.add(address.strip().lower())
            kept.append(address.strip())
    return kept


def _redact(url: str) -> str:
    """Scheme and host only: webhook URLs often carry their secret in the path (Slack's do)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…" if parts.hostname else "(invalid URL)"
