"""Delivering one spending-cap alert: e-mail through SendGrid and JSON webhooks, retried, every result kept.

``Notifier.send`` queues an alert's channels and reports what became of each (a ``Delivery``) when
the last one ends; ``deliver`` does the same and waits. Neither raises. Both channels retry on
timeouts, connection errors, 429 and 5xx with exponential backoff (a numeric ``Retry-After``
wins), and give up at once on any other answer that is not 2xx. Webhook redirects are not
followed: the URL a tenant saved is the only place its alerts go.

What one tenant can make the server do is bounded: its channels run on at most a share of the
delivery threads (``FairPool``), every webhook attempt ends by a wall-clock deadline, webhooks
connect only to addresses the policy allows (``_transport``), a receiver's answer is kept only as
its status code and standard reason (the answer of something inside the network must not be
readable through the alert history), and a tenant sends at most ``emails_per_hour`` e-mails.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from http import HTTPStatus
from http.client import HTTPException
from typing import Any
from urllib.error import URLError

import httpx
import python_http_client.exceptions
import sendgrid
from sendgrid.helpers.mail import Mail

from ._fair import FairPool
from ._message import AlertMessage, html_body, payload_for, subject, text_body
from ._policy import AddressPolicy, redacted_url
from ._transport import AddressRefused, DeadlineExceeded, Resolver, WebhookClient, resolve

__all__ = ["EMAIL_OFF", "SIGNATURE_HEADER", "Delivery", "Notifier", "sign"]

_log = logging.getLogger("llmobserve.alerts")

EMAIL_OFF = "e-mail is off: SENDGRID_API_KEY is not set"
MAX_DELAY_S = 30.0  # no backoff or Retry-After holds a delivery longer than this
SIGNATURE_HEADER = "X-Llmobserve-Signature"
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
        deadline_s: a webhook attempt's whole duration, however slowly the receiver answers.
        sleep: how to wait between tries (tests pass a recorder); by default a wait that closing ends.
        max_parallel: channels delivered at once, over all tenants.
        tenant_share: channels one tenant has under way at once, at most.
        max_queued: channels one tenant may have waiting; more are dropped, recorded as such.
        emails_per_hour: alert e-mails (one per recipient) a tenant may send in any hour.
        allow_private, allowed_networks: where webhooks may connect (``AddressPolicy``).
        proxy: send webhooks through this egress proxy instead (it enforces the address rules).
        resolver: how names are resolved (tests pass a table of their own).
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
        deadline_s: float = 10.0,
        sleep: Callable[[float], object] | None = None,
        max_parallel: int = 8,
        tenant_share: int = 2,
        max_queued: int = 200,
        emails_per_hour: int = 200,
        allow_private: bool = True,
        allowed_networks: Iterable[str] = (),
        proxy: str | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        if backoff_s < 0:
            raise ValueError(f"backoff_s must not be negative, got {backoff_s}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be more than 0, got {timeout_s}")
        if deadline_s <= 0:
            raise ValueError(f"deadline_s must be more than 0, got {deadline_s}")
        if max_parallel < 1:
            raise ValueError(f"max_parallel must be at least 1, got {max_parallel}")
        self._key = sendgrid_api_key or None
        self._host = sendgrid_host.rstrip("/")
        self._sender = sender
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._deadline_s = deadline_s
        self._stopping = threading.Event()
        self._sleep = sleep if sleep is not None else self._stopping.wait
        self._webhooks = WebhookClient(
            AddressPolicy(allow_private, allowed_networks), proxy=proxy, resolver=resolver, timeout_s=timeout_s
        )
        self._pool = FairPool(max_parallel, min(tenant_share, max_parallel), max_queued)
        self._emails_per_hour = emails_per_hour
        self._emails: dict[str, deque[tuple[float, int]]] = {}  # tenant -> (sent at, how many) this hour
        self._emails_lock = threading.Lock()

    @property
    def email_enabled(self) -> bool:
        return self._key is not None

    def close(self) -> None:
        """Finish the attempts under way (no more retries), then release the threads and connections.
        Channels still queued are not sent: their alerts stay undelivered in storage, and the cap
        monitor delivers them at the next start."""
        self._stopping.set()
        dropped = self._pool.shutdown(wait=True, drop_queued=True)
        if dropped:
            _log.info("stopping: %d queued alert deliveries are left for the next start", dropped)
        self._webhooks.close()

    def deliver(
        self, message: AlertMessage, recipients: Sequence[str], webhooks: Sequence[str], secret: str = ""
    ) -> list[Delivery]:
        """``send``, waiting for the outcome: one Delivery for the e-mail (if there are recipients)
        and one per webhook, in that order; never raises."""
        done = threading.Event()
        out: list[Delivery] = []

        def finished(deliveries: list[Delivery]) -> None:
            out.extend(deliveries)
            done.set()

        self.send(message, recipients, webhooks, finished, secret)
        done.wait()
        return out

    def send(
        self,
        message: AlertMessage,
        recipients: Sequence[str],
        webhooks: Sequence[str],
        done: Callable[[list[Delivery]], None],
        secret: str = "",
    ) -> None:
        """Queue each channel of ``message`` on the tenant's share of the pool; ``done`` gets the
        Deliveries (e-mail first, then the webhooks in order) on the thread of the last to end.
        ``secret`` signs the webhook payloads (``sign``)."""
        jobs: list[tuple[str, str, Callable[[], Delivery]]] = []
        addresses = _unique(recipients)
        if addresses:
            jobs.append(("email", ", ".join(addresses), lambda: self._email_within_budget(message, addresses)))
        for url in webhooks:
            jobs.append(("webhook", url, partial(self._webhook, message, url, secret)))
        results: list[Delivery | None] = [None] * len(jobs)
        left = [len(jobs)]
        lock = threading.Lock()

        def finish(slot: int, delivery: Delivery) -> None:
            if not delivery.ok:
                _report(message, delivery)
            with lock:
                results[slot] = delivery
                left[0] -= 1
                last = left[0] == 0
            if last:
                done([d for d in results if d is not None])

        if not jobs:
            done([])
        for slot, (channel, target, job) in enumerate(jobs):
            run = partial(self._run_into, message, channel, target, job, partial(finish, slot))
            if not self._pool.submit(message.tenant, run):
                why = (
                    "the notifier is closed"
                    if self._pool.closed
                    else f"dropped: this workspace has {self._pool.max_queued} notifications waiting already"
                )
                finish(slot, _failed(channel, target, why, attempts=0))

    def _run_into(
        self,
        message: AlertMessage,
        channel: str,
        target: str,
        job: Callable[[], Delivery],
        finish: Callable[[Delivery], None],
    ) -> None:
        finish(self._run(message, channel, target, job))

    def _email_within_budget(self, message: AlertMessage, addresses: list[str]) -> Delivery:
        if self._key is None:
            return _failed("email", ", ".join(addresses), EMAIL_OFF, attempts=0)
        now = time.monotonic()
        with self._emails_lock:
            sent = self._emails.setdefault(message.tenant, deque())
            while sent and now - sent[0][0] >= 3600:
                sent.popleft()
            if sum(n for _, n in sent) + len(addresses) > self._emails_per_hour:
                why = f"not sent: this workspace's e-mail budget ({self._emails_per_hour} an hour) is spent"
                return _failed("email", ", ".join(addresses), why, attempts=0)
            sent.append((now, len(addresses)))
            if len(self._emails) > 100_000:  # tenants that sent nothing for an hour are forgotten
                for tenant in [t for t, q in self._emails.items() if not q or now - q[-1][0] >= 3600]:
                    del self._emails[tenant]
        return self._email(message, addresses)

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
            if result.ok or not result.retry or number == self._attempts or self._stopping.is_set():
                break
            delay = self._backoff_s * 2 ** (number - 1) if result.retry_after is None else result.retry_after
            _log.debug(
                "%s to %s: attempt %d failed (%s), retrying in %.2f s",
                channel,
                redacted_url(target),
                number,
                result.error,
                min(delay, MAX_DELAY_S),
            )
            self._sleep(min(delay, MAX_DELAY_S))
        return Delivery(channel, target, result.ok, number, result.status, result.error, datetime.now(UTC))

    def email(self, addresses: Sequence[str], subject: str, text: str, html: str) -> Delivery:
        """Send one e-mail (not an alert: e.g. a recipient's confirmation link) now; never raises."""
        targets = _unique(addresses)
        if self._key is None:
            return _failed("email", ", ".join(targets), EMAIL_OFF, attempts=0)
        try:
            return self._mail(targets, subject, text, html)
        except Exception as exc:
            _log.exception("e-mail to %d address(es) crashed", len(targets))
            return _failed("email", ", ".join(targets), f"internal error: {exc!r}")

    def _email(self, message: AlertMessage, addresses: list[str]) -> Delivery:
        return self._mail(addresses, subject(message), text_body(message), html_body(message))

    def _mail(self, addresses: list[str], subject: str, text: str, html: str) -> Delivery:
        # One personalization per address: one request, yet no recipient sees the others' addresses.
        mail = Mail(
            from_email=self._sender,
            to_emails=addresses,
            subject=subject,
            plain_text_content=text,
            html_content=html,
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

    def _webhook(self, message: AlertMessage, url: str, secret: str) -> Delivery:
        body = json.dumps(payload_for(url, message), separators=(",", ":")).encode()
        return self._retrying("webhook", url, lambda: self._post(url, body, message.alert_id, secret))

    def _post(self, url: str, body: bytes, alert_id: str, secret: str) -> _Try:
        headers = {"Content-Type": "application/json", "Idempotency-Key": alert_id}
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, body)
        try:
            with self._webhooks.deadline(self._deadline_s):
                with self._webhooks.http.stream("POST", url, content=body, headers=headers) as response:
                    # Only the status and its standard reason are kept: never the body or headers of
                    # the answer (it may come from inside the network, and alerts are shown to tenants).
                    return _status_only(response.status_code, response.headers.get("Retry-After"))
        except AddressRefused as exc:
            return _Try(False, None, f"not sent: {exc} (allowed by LLMOBSERVE_WEBHOOKS_ALLOW_PRIVATE or _NETWORKS)")
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return _Try(False, error=f"invalid webhook URL: {exc}")
        except httpx.TimeoutException as exc:
            if any(isinstance(e, DeadlineExceeded) for e in _causes(exc)):
                return _Try(False, error=f"not answered within the {self._deadline_s:g} s deadline", retry=True)
            return _Try(False, error=self._transport_error(exc), retry=True)
        except httpx.TransportError as exc:
            return _Try(False, error=self._transport_error(exc), retry=True)
        except httpx.RequestError:  # e.g. an answer that fails to decode: unusable
            return _Try(False, error="bad answer")

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


def _status_only(status: int, retry_after: str | None) -> _Try:
    if 200 <= status < 300:
        return _Try(True, status)
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "non-standard status"
    if 300 <= status < 400:
        return _Try(False, status, f"HTTP {status} {reason}: redirects are not followed")
    retry = status == 429 or status >= 500
    return _Try(False, status, f"HTTP {status} {reason}", retry, _seconds(retry_after) if retry else None)


def sign(secret: str, body: bytes, at: int | None = None) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``: receivers recompute it with the
    cap's secret, compare in constant time, and refuse old timestamps (replays)."""
    moment = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


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
        where = redacted_url(delivery.target)
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
