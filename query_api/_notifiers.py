"""Delivering one spending-cap alert: e-mail through SendGrid and JSON webhooks, retried, every result kept.

``Notifier.deliver`` never raises; what happened to each channel comes back as a ``Delivery``. Both
channels retry on timeouts, connection errors, 429 and 5xx with exponential backoff (a numeric
``Retry-After`` wins), and give up at once on any other answer that is not 2xx. Webhook redirects are
not followed: the URL a tenant saved is the only place its alerts go.
"""

from __future__ import annotations

import html
import logging
import time
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from http.client import HTTPException
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import python_http_client.exceptions
import sendgrid
from sendgrid.helpers.mail import Mail

__all__ = ["AlertMessage", "Delivery", "Notifier", "format_usd"]

_log = logging.getLogger("llmobserve.alerts")

EMAIL_OFF = "e-mail is off: SENDGRID_API_KEY is not set"
MAX_DELAY_S = 30.0  # no backoff or Retry-After holds a delivery longer than this
_SNIPPET = 200  # characters of an error answer kept in Delivery.error
_PERIOD_WORD = {"daily": "per day", "weekly": "per week", "monthly": "per month", "total": "in total"}


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One threshold of one cap crossed (or a test of its channels), as the monitor hands it over."""

    alert_id: str  # "alert_<16 hex>"; also the webhooks' Idempotency-Key
    tenant: str
    cap_id: str
    cap_name: str  # may be ""
    scope: str  # global|provider|model|agent|customer|service|each_customer
    value: str  # the scope's value; for each_customer the customer id; "" for global
    threshold: Decimal  # e.g. Decimal("0.8")
    spend_usd: Decimal  # exact
    limit_usd: Decimal
    period: str  # daily|weekly|monthly|total
    time_zone: str  # IANA
    period_start: datetime  # aware UTC
    resets_at: datetime | None  # aware UTC; None for period "total"
    fired_at: datetime  # aware UTC
    cap_url: str
    enforcement: str  # alert_only|hard_block
    test: bool = False  # sent by POST /caps/{id}/test: nothing was crossed


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


def format_usd(amount: Decimal) -> str:
    """``$12.50``, ``$0.10``, ``$0.000123``, ``$1,234.5678``: every digit the amount has, at least two decimals.

    Rounding to cents would show a sub-cent spend as $0.00, and an alert saying so is useless.
    """
    if not amount.is_finite():
        return f"${amount}"
    whole, _, fraction = format(abs(amount), "f").partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    sign = "-" if amount < 0 else ""
    return f"{sign}${int(whole):,}.{fraction}"


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
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        if backoff_s < 0:
            raise ValueError(f"backoff_s must not be negative, got {backoff_s}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be more than 0, got {timeout_s}")
        if max_parallel < 1:
            raise ValueError(f"max_parallel must be at least 1, got {max_parallel}")
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
        self._pool = ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="llmobserve-alerts")

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
            slots.append(("webhook", url, lambda url=url: self._webhook(message, url)))
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
        return Delivery(channel, target, result.ok, number, result.status, result.error, datetime.now(timezone.utc))

    def _email(self, message: AlertMessage, addresses: list[str]) -> Delivery:
        # One personalization per address: one request, yet no recipient sees the others' addresses.
        mail = Mail(
            from_email=self._sender,
            to_emails=addresses,
            subject=_subject(message),
            plain_text_content=_text_body(message),
            html_content=_html_body(message),
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
        payload = _payload(message)
        headers = {"Idempotency-Key": message.alert_id}
        return self._retrying("webhook", url, lambda: self._post(url, payload, headers))

    def _post(self, url: str, payload: dict[str, Any], headers: dict[str, str]) -> _Try:
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
    return Delivery(channel, target, False, attempts, None, error, datetime.now(timezone.utc))


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


# ---------------------------------------------------------------------- what the alert says


def _one_line(text: str) -> str:
    """User text made fit for a subject or a one-line summary: no control characters or line breaks."""
    cleaned = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)
    return " ".join(cleaned.split())


def _plain(amount: Decimal) -> str:
    """Exact and never in exponent form (str(Decimal("0.0000001")) is "1E-7")."""
    return format(amount, "f")


def _percent(fraction: Decimal) -> str:
    """80%, 87.5%, 81.2%: a share as a percentage, to one decimal at most."""
    text = format((fraction * 100).quantize(Decimal("0.1")), "f")
    return (text.removesuffix(".0") if text.endswith(".0") else text) + "%"


def _used(message: AlertMessage) -> Decimal | None:
    return message.spend_usd / message.limit_usd if message.limit_usd > 0 else None


def _label(message: AlertMessage) -> str:
    return _one_line(message.cap_name) or message.cap_id


def _scope(message: AlertMessage) -> str:
    if message.scope == "global":
        return "global (all spend)"
    if message.scope == "each_customer":
        return f"each customer (this alert: customer {message.value})"
    return f"{message.scope} = {message.value}"


def _when(moment: datetime, time_zone: str) -> str:
    """The moment in the cap's time zone, and in UTC when that differs."""
    utc = moment.astimezone(timezone.utc)
    try:
        local = moment.astimezone(ZoneInfo(time_zone))
    except (ValueError, KeyError, OSError):  # an unknown zone still gets its alert, in UTC
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    if time_zone in ("UTC", "Etc/UTC"):
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    return f"{local:%Y-%m-%d %H:%M} {time_zone} ({utc:%Y-%m-%d %H:%M} UTC)"


def _summary(message: AlertMessage) -> str:
    """The one-line gist (subject and webhook text): which cap, which threshold, how much of what."""
    test = "TEST: " if message.test else ""
    return (
        f"{test}Cap '{_label(message)}' at {_percent(message.threshold)} — {format_usd(message.spend_usd)} "
        f"of {format_usd(message.limit_usd)} ({message.period})"
    )


def _subject(message: AlertMessage) -> str:
    return f"[llmobserve] {_summary(message)}"


def _facts(message: AlertMessage) -> list[tuple[str, str]]:
    """Label/value rows, shared by the text and the HTML body (values are plain, unescaped text)."""
    used = _used(message)
    cap = f"{_one_line(message.cap_name)} ({message.cap_id})" if _one_line(message.cap_name) else message.cap_id
    if message.enforcement == "hard_block":
        enforcement = "hard block: calls in this scope are blocked once spend reaches 100% of the limit"
    else:
        enforcement = "alert only: calls are never blocked"
    return [
        ("Cap", cap),
        ("Scope", _scope(message)),
        ("Spend", format_usd(message.spend_usd)),
        ("Limit", f"{format_usd(message.limit_usd)} {_PERIOD_WORD.get(message.period, message.period)}"),
        (
            "Used",
            f"{_percent(used) if used is not None else 'n/a'} of the limit "
            f"(alert threshold {_percent(message.threshold)})",
        ),
        ("Period", f"{message.period}, in {message.time_zone}, since {_when(message.period_start, message.time_zone)}"),
        ("Resets", _when(message.resets_at, message.time_zone) if message.resets_at is not None else "never (total)"),
        ("Enforcement", enforcement),
        ("Fired at", _when(message.fired_at, message.time_zone)),
        ("Alert id", message.alert_id),
    ]


def _intro(message: AlertMessage) -> str:
    if message.test:
        return (
            "This is a test notification: no threshold was crossed. It shows that alerts of this cap "
            "reach you, and what they look like."
        )
    return f"Spending cap '{_label(message)}' has crossed its {_percent(message.threshold)} alert threshold."


def _text_body(message: AlertMessage) -> str:
    width = max(len(label) for label, _ in _facts(message)) + 2
    rows = [f"{label + ':':<{width}}{value}" for label, value in _facts(message)]
    return "\n".join([_intro(message), "", *rows, "", f"View the cap: {message.cap_url}", ""])


def _html_body(message: AlertMessage) -> str:
    e = html.escape
    rows = "".join(
        f'<tr><th align="left" style="padding-right:12px">{e(label)}</th><td>{e(value)}</td></tr>'
        for label, value in _facts(message)
    )
    return (
        f'<p>{e(_intro(message))}</p>\n<table>{rows}</table>\n<p><a href="{e(message.cap_url)}">View the cap</a></p>\n'
    )


def _slack_escape(text: str) -> str:
    """Slack reads <...> as a link or mention: a cap named "<!channel>" must not ping a whole channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _payload(message: AlertMessage) -> dict[str, Any]:
    used = _used(message)
    return {
        "text": f"{_slack_escape(_summary(message))} {message.cap_url}",
        "type": "spending_cap.test" if message.test else "spending_cap.threshold_crossed",
        "alert_id": message.alert_id,
        "cap": {
            "id": message.cap_id,
            "name": message.cap_name,
            "scope": message.scope,
            "value": message.value,
            "period": message.period,
            "time_zone": message.time_zone,
            "limit_usd": _plain(message.limit_usd),
            "enforcement": message.enforcement,
            "url": message.cap_url,
        },
        "threshold": _plain(message.threshold),
        "spend_usd": _plain(message.spend_usd),
        "limit_usd": _plain(message.limit_usd),
        "percent": round(float(used * 100), 4) if used is not None else None,
        "period_start": message.period_start.isoformat(),
        "resets_at": message.resets_at.isoformat() if message.resets_at is not None else None,
        "fired_at": message.fired_at.isoformat(),
        "test": message.test,
    }
