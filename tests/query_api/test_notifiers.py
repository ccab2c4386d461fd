"""Alert delivery with the real sendgrid client and real httpx, against local SendGrid and webhook stand-ins."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from llmobserve.caps.notify import EMAIL_OFF, AlertMessage, Delivery, Notifier, format_usd
from tests.conftest import free_port
from tests.standin.sendgrid_api import StandInSendGrid
from tests.standin.webhooks import WebhookReceiver

MESSAGE = AlertMessage(
    alert_id="alert_0123456789abcdef",
    tenant="acme",
    cap_id="cap_42",
    cap_name="<b>Tom & Jerry's</b> daily",
    scope="provider",
    value="openai",
    threshold=Decimal("0.8"),
    spend_usd=Decimal("0.0812"),
    limit_usd=Decimal("0.10"),
    period="daily",
    time_zone="Europe/Paris",
    period_start=datetime(2026, 3, 1, 23, 0, tzinfo=UTC),
    resets_at=datetime(2026, 3, 2, 23, 0, tzinfo=UTC),
    fired_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    cap_url="http://127.0.0.1:4318/api/v1/caps/cap_42",
    enforcement="hard_block",
)


class Sleeps:
    """Records the waits between attempts instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)


@pytest.fixture
def sg() -> Iterator[StandInSendGrid]:
    with StandInSendGrid(api_key="SG.right-key") as standin:
        yield standin
        assert standin.errors == []


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver
        assert receiver.errors == []


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def notifier(sg: StandInSendGrid, sleeps: Sleeps) -> Iterator[Callable[..., Notifier]]:
    made: list[Notifier] = []

    def make(**options: Any) -> Notifier:
        settings: dict[str, Any] = {"sendgrid_host": sg.url, "attempts": 3, "timeout_s": 2.0, "sleep": sleeps}
        made.append(Notifier(options.pop("key", sg.api_key), **{**settings, **options}))
        return made[-1]

    yield make
    for each in made:
        each.close()


def only(deliveries: list[Delivery]) -> Delivery:
    assert len(deliveries) == 1, deliveries
    return deliveries[0]


# ---------------------------------------------------------------------- money


def test_format_usd_keeps_every_digit() -> None:
    assert format_usd(Decimal("0.000123")) == "$0.000123"
    assert format_usd(Decimal("12.5")) == "$12.50"
    assert format_usd(Decimal("0.1")) == "$0.10"
    assert format_usd(Decimal("0.081200")) == "$0.0812"
    assert format_usd(Decimal("0")) == "$0.00"
    assert format_usd(Decimal("1E+2")) == "$100.00"
    assert format_usd(Decimal("1E-7")) == "$0.0000001"
    assert format_usd(Decimal("1234567.5")) == "$1,234,567.50"


# ---------------------------------------------------------------------- e-mail


def test_deliver_email_arrives_escaped_with_exact_money(sg: StandInSendGrid, notifier: Callable[..., Notifier]) -> None:
    message = replace(MESSAGE, spend_usd=Decimal("0.000123"))
    delivery = only(notifier().deliver(message, ["ops@acme.test", "cfo@acme.test", "OPS@acme.test"], []))

    assert (delivery.channel, delivery.ok, delivery.attempts, delivery.status, delivery.error) == (
        "email",
        True,
        1,
        202,
        "",
    )
    assert delivery.target == "ops@acme.test, cfo@acme.test"
    [sent] = sg.messages
    assert sent.headers["authorization"] == "Bearer SG.right-key"
    body = sent.json
    assert body["from"] == {"email": "alerts@llmobserve.dev"}
    # one request, one personalization each: recipients do not see one another
    assert sorted(p["to"][0]["email"] for p in body["personalizations"]) == ["cfo@acme.test", "ops@acme.test"]
    assert all(len(p["to"]) == 1 for p in body["personalizations"])
    assert body["subject"] == "[llmobserve] Cap '<b>Tom & Jerry's</b> daily' at 80% — $0.000123 of $0.10 (daily)"
    [text, page] = body["content"]
    assert text["type"] == "text/plain" and page["type"] == "text/html"
    for part in (
        "$0.000123",
        "$0.10 per day",
        "0.1% of the limit (alert threshold 80%)",
        "provider = openai",
        "cap_42",
        "Europe/Paris",
        "2026-03-03 00:00 Europe/Paris (2026-03-02 23:00 UTC)",
        "hard block",
        "blocked once spend reaches 100%",
        MESSAGE.cap_url,
    ):
        assert part in text["value"], part
    assert "&lt;b&gt;Tom &amp; Jerry&#x27;s&lt;/b&gt;" in page["value"]
    assert "<b>Tom" not in page["value"]
    assert f'<a href="{MESSAGE.cap_url}">' in page["value"]
    assert "$0.000123" in page["value"] and "$0.00<" not in page["value"]


def test_deliver_email_total_period_never_resets(sg: StandInSendGrid, notifier: Callable[..., Notifier]) -> None:
    message = replace(
        MESSAGE, period="total", resets_at=None, enforcement="alert_only", cap_name="", scope="global", value=""
    )
    assert only(notifier().deliver(message, ["ops@acme.test"], [])).ok
    text = sg.messages[0].json["content"][0]["value"]
    assert "never (total)" in text and "global (all spend)" in text and "calls are never blocked" in text
    assert sg.messages[0].json["subject"].startswith("[llmobserve] Cap 'cap_42' at 80%")


def test_deliver_email_test_notification_says_so(sg: StandInSendGrid, notifier: Callable[..., Notifier]) -> None:
    assert only(notifier().deliver(replace(MESSAGE, test=True), ["ops@acme.test"], [])).ok
    body = sg.messages[0].json
    assert body["subject"].startswith("[llmobserve] TEST: Cap ")
    assert "This is a test notification" in body["content"][0]["value"]


def test_deliver_email_wrong_key_is_final(
    sg: StandInSendGrid, notifier: Callable[..., Notifier], sleeps: Sleeps
) -> None:
    delivery = only(notifier(key="SG.wrong-key").deliver(MESSAGE, ["ops@acme.test"], []))

    assert (delivery.ok, delivery.attempts, delivery.status) == (False, 1, 401)
    assert delivery.error.startswith("HTTP 401: ") and "authorization grant is invalid" in delivery.error
    assert len(sg.requests) == 1 and sg.messages == [] and sleeps.waits == []


def test_deliver_email_retries_5xx_then_succeeds(
    sg: StandInSendGrid, notifier: Callable[..., Notifier], sleeps: Sleeps
) -> None:
    sg.fail_next(500, times=2)
    delivery = only(notifier(backoff_s=0.25).deliver(MESSAGE, ["ops@acme.test"], []))

    assert (delivery.ok, delivery.attempts, delivery.status, delivery.error) == (True, 3, 202, "")
    assert sleeps.waits == [0.25, 0.5]
    assert len(sg.requests) == 3 and len(sg.messages) == 1


def test_deliver_email_honours_retry_after(
    sg: StandInSendGrid, notifier: Callable[..., Notifier], sleeps: Sleeps
) -> None:
    sg.fail_next(429, retry_after=7)
    assert only(notifier().deliver(MESSAGE, ["ops@acme.test"], [])).attempts == 2
    assert sleeps.waits == [7.0]


def test_deliver_email_times_out_then_retries(sg: StandInSendGrid, notifier: Callable[..., Notifier]) -> None:
    sg.hang_next(3)
    started = time.monotonic()
    delivery = only(notifier(timeout_s=0.3).deliver(MESSAGE, ["ops@acme.test"], []))

    assert (delivery.ok, delivery.attempts, delivery.status) == (True, 2, 202)
    assert time.monotonic() - started < 2  # the first try was cut at 0.3 s, not left hanging for 3
    assert len(sg.messages) == 1


def test_deliver_email_timeout_recorded(sg: StandInSendGrid, notifier: Callable[..., Notifier]) -> None:
    sg.hang_next(3, times=2)
    delivery = only(notifier(timeout_s=0.3, attempts=2).deliver(MESSAGE, ["ops@acme.test"], []))
    assert (delivery.ok, delivery.attempts, delivery.status, delivery.error) == (
        False,
        2,
        None,
        "timed out after 0.3 s",
    )


def test_deliver_email_connection_refused(notifier: Callable[..., Notifier]) -> None:
    delivery = only(notifier(sendgrid_host=f"http://127.0.0.1:{free_port()}").deliver(MESSAGE, ["a@b.test"], []))
    assert (delivery.ok, delivery.attempts, delivery.status, delivery.error) == (False, 3, None, "connection refused")


def test_deliver_email_off_is_recorded(notifier: Callable[..., Notifier], hooks: WebhookReceiver) -> None:
    off = notifier(key=None)
    assert not off.email_enabled
    email, webhook = off.deliver(MESSAGE, ["ops@acme.test", "cfo@acme.test"], [hooks.url_for("/hook")])

    assert email == Delivery("email", "ops@acme.test, cfo@acme.test", False, 0, None, EMAIL_OFF, email.at)
    assert EMAIL_OFF == "e-mail is off: SENDGRID_API_KEY is not set"
    assert webhook.ok  # the other channels still go out


# ---------------------------------------------------------------------- webhooks


def test_deliver_webhook_posts_json(hooks: WebhookReceiver, notifier: Callable[..., Notifier]) -> None:
    message = replace(MESSAGE, spend_usd=Decimal("0.0000001"), cap_name="<!channel> & co")
    delivery = only(notifier().deliver(message, [], [hooks.url_for("/hook")]))

    assert (delivery.channel, delivery.target, delivery.ok, delivery.attempts, delivery.status) == (
        "webhook",
        hooks.url_for("/hook"),
        True,
        1,
        200,
    )
    [got] = hooks.received
    assert (got.method, got.path) == ("POST", "/hook")
    assert got.headers["user-agent"] == "llmobserve-alerts"
    assert got.headers["idempotency-key"] == "alert_0123456789abcdef"
    assert got.headers["content-type"] == "application/json"
    body = got.json
    # Slack would turn <!channel> into a mention of everyone: the text escapes it, the fields keep it
    assert body["text"] == (
        "Cap '&lt;!channel&gt; &amp; co' at 80% — $0.0000001 of $0.10 (daily) http://127.0.0.1:4318/api/v1/caps/cap_42"
    )
    assert body["cap"] == {
        "id": "cap_42",
        "name": "<!channel> & co",
        "scope": "provider",
        "value": "openai",
        "period": "daily",
        "time_zone": "Europe/Paris",
        "limit_usd": "0.10",
        "enforcement": "hard_block",
        "url": MESSAGE.cap_url,
    }
    assert (body["type"], body["alert_id"], body["test"]) == (
        "spending_cap.threshold_crossed",
        "alert_0123456789abcdef",
        False,
    )
    assert (body["threshold"], body["spend_usd"], body["limit_usd"]) == ("0.8", "0.0000001", "0.10")
    assert body["percent"] == 0.0001
    assert body["period_start"] == "2026-03-01T23:00:00+00:00"
    assert body["resets_at"] == "2026-03-02T23:00:00+00:00"
    assert body["fired_at"] == "2026-03-02T09:30:00+00:00"


def test_deliver_webhook_test_and_total(hooks: WebhookReceiver, notifier: Callable[..., Notifier]) -> None:
    message = replace(MESSAGE, test=True, period="total", resets_at=None)
    assert only(notifier().deliver(message, [], [hooks.url_for("/hook")])).ok
    body = hooks.received[0].json
    assert (body["type"], body["test"], body["resets_at"], body["percent"]) == ("spending_cap.test", True, None, 81.2)
    assert body["text"].startswith("TEST: Cap ")


def test_deliver_webhook_timeout_retried_then_recorded(
    hooks: WebhookReceiver, notifier: Callable[..., Notifier], sleeps: Sleeps
) -> None:
    hooks.hang_next(2, times=2)
    started = time.monotonic()
    delivery = only(notifier(timeout_s=0.3, attempts=2).deliver(MESSAGE, [], [hooks.url_for("/hook")]))

    assert (delivery.ok, delivery.attempts, delivery.status, delivery.error) == (
        False,
        2,
        None,
        "timed out after 0.3 s",
    )
    assert time.monotonic() - started < 1.5
    assert len(hooks.received) == 2 and len(sleeps.waits) == 1


def test_deliver_webhook_5xx_uses_every_attempt(
    hooks: WebhookReceiver, notifier: Callable[..., Notifier], sleeps: Sleeps
) -> None:
    hooks.fail_next(500, times=100, body="database\n  on fire " + "x" * 500)
    delivery = only(notifier(attempts=4, backoff_s=0.5).deliver(MESSAGE, [], [hooks.url_for("/hook")]))

    assert (delivery.ok, delivery.attempts, delivery.status) == (False, 4, 500)
    # the receiver's words are never kept: an answer from inside the network must not be readable
    assert delivery.error == "HTTP 500 Internal Server Error"
    assert sleeps.waits == [0.5, 1.0, 2.0]
    assert len(hooks.received) == 4


def test_deliver_backoff_and_retry_after_capped_at_30_s(
    hooks: WebhookReceiver, notifier: Callable[..., Notifier], sleeps: Sleeps
) -> None:
    hooks.fail_next(503, times=3, retry_after=120, path="/late")
    hooks.fail_next(500, times=3, path="/backoff")
    notifier(attempts=4, backoff_s=10).deliver(MESSAGE, [], [hooks.url_for("/late")])
    assert sleeps.waits == [30.0, 30.0, 30.0]
    sleeps.waits.clear()
    notifier(attempts=4, backoff_s=10).deliver(MESSAGE, [], [hooks.url_for("/backoff")])
    assert sleeps.waits == [10.0, 20.0, 30.0]


def test_deliver_webhook_4xx_is_final(
    hooks: WebhookReceiver, notifier: Callable[..., Notifier], sleeps: Sleeps
) -> None:
    hooks.fail_next(404, times=5, body="no such hook")
    delivery = only(notifier().deliver(MESSAGE, [], [hooks.url_for("/gone")]))

    assert (delivery.ok, delivery.attempts, delivery.status, delivery.error) == (
        False,
        1,
        404,
        "HTTP 404 Not Found",
    )
    assert len(hooks.received) == 1 and sleeps.waits == []


def test_deliver_webhook_redirect_not_followed(hooks: WebhookReceiver, notifier: Callable[..., Notifier]) -> None:
    hooks.redirect_next(hooks.url_for("/elsewhere"), status=307)
    delivery = only(notifier().deliver(MESSAGE, [], [hooks.url_for("/hook")]))

    assert (delivery.ok, delivery.attempts, delivery.status) == (False, 1, 307)
    assert delivery.error == "HTTP 307 Temporary Redirect: redirects are not followed"  # Location not shown
    assert [r.path for r in hooks.received] == ["/hook"]


def test_deliver_webhook_connection_refused(notifier: Callable[..., Notifier]) -> None:
    delivery = only(notifier(attempts=2).deliver(MESSAGE, [], [f"http://127.0.0.1:{free_port()}/hook"]))
    assert (delivery.ok, delivery.attempts, delivery.status, delivery.error) == (False, 2, None, "connection refused")


def test_deliver_failure_logged_without_webhook_secret(
    hooks: WebhookReceiver, notifier: Callable[..., Notifier], caplog: pytest.LogCaptureFixture
) -> None:
    hooks.fail_next(403)
    with caplog.at_level(logging.WARNING, logger="llmobserve.alerts"):
        notifier().deliver(MESSAGE, [], [hooks.url_for("/services/T000/B000/s3cr3t")])
    [record] = [r for r in caplog.records if r.name == "llmobserve.alerts"]
    assert record.levelno == logging.WARNING
    assert "alert_0123456789abcdef" in record.getMessage() and "HTTP 403" in record.getMessage()
    assert "s3cr3t" not in record.getMessage()


# ---------------------------------------------------------------------- together


def test_deliver_channels_in_order_each_recorded(
    sg: StandInSendGrid, hooks: WebhookReceiver, notifier: Callable[..., Notifier]
) -> None:
    hooks.fail_next(410, path="/b")
    deliveries = notifier().deliver(MESSAGE, ["ops@acme.test"], [hooks.url_for("/a"), hooks.url_for("/b")])

    assert [(d.channel, d.target, d.ok, d.status) for d in deliveries] == [
        ("email", "ops@acme.test", True, 202),
        ("webhook", hooks.url_for("/a"), True, 200),
        ("webhook", hooks.url_for("/b"), False, 410),
    ]
    for delivery in deliveries:
        record = json.loads(json.dumps(delivery.as_dict()))
        assert datetime.fromisoformat(record["at"]) == delivery.at and delivery.at.tzinfo is not None
    assert notifier().deliver(MESSAGE, [], []) == []


def test_slow_webhook_does_not_delay_email(
    sg: StandInSendGrid, hooks: WebhookReceiver, notifier: Callable[..., Notifier]
) -> None:
    hooks.hang_next(1.0, path="/slow")
    started = time.monotonic()
    email, slow = notifier(timeout_s=5).deliver(MESSAGE, ["ops@acme.test"], [hooks.url_for("/slow")])
    finished = time.monotonic()

    assert email.ok and slow.ok
    assert finished - started >= 1.0
    assert sg.messages[0].monotonic - started < 0.5  # the e-mail went out while the webhook hung


def test_deliver_after_close_records_instead_of_raising(
    hooks: WebhookReceiver, notifier: Callable[..., Notifier]
) -> None:
    closed = notifier()
    closed.close()
    delivery = only(closed.deliver(MESSAGE, [], [hooks.url_for("/hook")]))
    assert (delivery.ok, delivery.error) == (False, "the notifier is closed")
    assert hooks.received == []


def test_notifier_rejects_impossible_settings() -> None:
    with pytest.raises(ValueError, match="attempts must be at least 1, got 0"):
        Notifier(None, attempts=0)
    with pytest.raises(ValueError, match="timeout_s must be more than 0"):
        Notifier(None, timeout_s=0)


def test_webhooks_inside_the_network_are_not_called_unless_allowed() -> None:
    with WebhookReceiver() as receiver:
        strict = Notifier(None, allow_private=False, attempts=1)
        try:
            [delivery] = strict.deliver(MESSAGE, [], [receiver.url_for("/hook")])
        finally:
            strict.close()
        assert not delivery.ok and delivery.status is None
        assert "127.0.0.1 resolves to non-public address(es) 127.0.0.1" in delivery.error
        assert receiver.received == []
        allowed = Notifier(None, attempts=1)  # a laptop's default in the library; serve turns it off
        try:
            assert allowed.deliver(MESSAGE, [], [receiver.url_for("/hook")])[0].ok
        finally:
            allowed.close()
