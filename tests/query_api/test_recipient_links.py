"""Confirmation links over time (a clock the test moves): re-sent only an hour after the last, a
replaced link is unknown, a link expires after 7 days, the daily bound is a rolling 24 hours that
serves never-mailed addresses first; and what an alert's webhook delivery shows to whom."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from llmobserve.caps.notify import Notifier
from llmobserve.control import ControlStore, StoredAlert, default_url
from llmobserve.query_api import Services
from llmobserve.query_api.schemas import CapIn, CapPatch
from llmobserve.query_api.services import alerts, caps, recipients
from llmobserve.storage import Store, StoreConfig
from tests.standin.sendgrid_api import StandInSendGrid

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_TOKEN = re.compile(r"confirm-recipient\?token=([A-Za-z0-9_\-]+)")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = Store.open(StoreConfig(tmp_path_factory.mktemp("links") / "data"))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlStore]:
    opened = ControlStore.open(default_url(tmp_path_factory.mktemp("links-control")))
    yield opened
    opened.close()


@pytest.fixture
def sendgrid() -> Iterator[StandInSendGrid]:
    with StandInSendGrid() as standin:
        yield standin
        assert standin.errors == []


def _services(store: Store, control: ControlStore, sendgrid: StandInSendGrid | None, clock: Clock) -> Services:
    notifier = Notifier(sendgrid.api_key, sendgrid_host=sendgrid.url, attempts=1) if sendgrid else Notifier(None)
    return Services.build(store, control, notifier=notifier, caps_clock=clock)


def _tokens(sendgrid: StandInSendGrid) -> list[str]:
    return [_TOKEN.findall(m.json["content"][0]["value"])[0] for m in sendgrid.messages]


def _cap(svc: Services, tenant: str, *recipients: str) -> str:
    body = CapIn.model_validate({"scope": "global", "limit_usd": "1", "recipients": list(recipients)})
    return caps.create_cap(svc, tenant, body).id


def test_links_resend_replace_and_expire(store: Store, control: ControlStore, sendgrid: StandInSendGrid) -> None:
    clock = Clock()
    svc = _services(store, control, sendgrid, clock)
    cap_id = _cap(svc, "links", "Ops@Links.example")
    [first] = _tokens(sendgrid)
    assert recipients.confirmation_link(svc, first).address == "ops@links.example"

    clock.now = T0 + timedelta(minutes=59)
    caps.patch_cap(svc, "links", cap_id, CapPatch(name="again"))
    assert len(sendgrid.messages) == 1  # pending with a fresh link: nobody is mailed on every save

    clock.now = T0 + timedelta(minutes=61)
    caps.patch_cap(svc, "links", cap_id, CapPatch(name="later"))
    [_, second] = _tokens(sendgrid)
    assert recipients.confirmation_link(svc, first).state == "unknown"  # replaced by the newer link
    assert recipients.confirm_recipient(svc, first).state == "unknown"
    assert recipients.confirmation_link(svc, second).state == "pending"

    clock.now = T0 + timedelta(minutes=61) + recipients.LINK_VALID
    assert recipients.confirm_recipient(svc, second).state == "expired"
    assert control.confirmed_recipients("links") == frozenset()
    [status] = caps.list_caps(svc, "links", admin=False).data[0].recipients_status
    assert not status.confirmed and "expired" in status.detail

    caps.patch_cap(svc, "links", cap_id, CapPatch(name="renewed"))
    third = _tokens(sendgrid)[-1]
    assert recipients.confirm_recipient(svc, third).state == "confirmed"
    assert recipients.confirm_recipient(svc, third).state == "used"
    assert control.confirmed_recipients("links") == frozenset({"ops@links.example"})
    assert control.confirmed_recipients("links-other") == frozenset()
    clock.now += timedelta(days=30)
    caps.patch_cap(svc, "links", cap_id, CapPatch(name="confirmed long ago"))
    assert len(sendgrid.messages) == 3  # a confirmed address is never asked again
    assert recipients.confirmation_link(svc, third).state == "used"


def test_the_daily_bound_rolls_and_serves_new_addresses_first(
    store: Store, control: ControlStore, sendgrid: StandInSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recipients, "MAILS_PER_DAY", 2)
    clock = Clock()
    svc = _services(store, control, sendgrid, clock)
    cap_id = _cap(svc, "bound", "a@bound.example", "b@bound.example", "c@bound.example")
    shown = caps.list_caps(svc, "bound", admin=True).data[0].recipients_status
    assert [s.confirmation_sent_at is not None for s in shown] == [True, True, False]
    assert "no confirmation e-mail sent yet" in shown[2].detail

    clock.now = T0 + timedelta(hours=23)  # a and b are due again, yet the bound still holds
    answer = caps.patch_cap(svc, "bound", cap_id, CapPatch(name="x"))
    assert len(sendgrid.messages) == 2 and "2 confirmation e-mails" in answer.recipients_status[2].detail

    clock.now = T0 + timedelta(hours=24, minutes=1)
    caps.patch_cap(svc, "bound", cap_id, CapPatch(name="y"))
    addressed = [m.json["personalizations"][0]["to"][0]["email"] for m in sendgrid.messages]
    assert addressed == ["a@bound.example", "b@bound.example", "c@bound.example", "a@bound.example"]


def test_email_off_leaves_the_address_to_be_mailed_later(store: Store, control: ControlStore) -> None:
    svc = _services(store, control, None, Clock())
    created = caps.create_cap(
        svc,
        "mail-off",
        CapIn.model_validate({"scope": "global", "limit_usd": "1", "recipients": ["x@off.example", "y@off.example"]}),
    )
    details = [s.detail for s in created.recipients_status]
    assert "SENDGRID_API_KEY" in details[0] and "the one before it failed" in details[1]
    [again] = caps.list_caps(svc, "mail-off", admin=True).data
    assert [s.confirmation_sent_at for s in again.recipients_status] == [None, None]
    assert "no confirmation e-mail sent yet" in again.recipients_status[0].detail


def test_webhook_deliveries_show_their_path_to_admins_only(store: Store, control: ControlStore) -> None:
    url = "https://hooks.slack.com/services/T000/B000/XXXXsecret"
    delivery = {"channel": "webhook", "target": url, "ok": False, "attempts": 1, "status": 302, "at": T0.isoformat()}
    alert = StoredAlert(
        "alert_0000000000000001",
        "cap_0000000000000001",
        "n",
        "global",
        "",
        Decimal(1),
        Decimal(2),
        Decimal(1),
        "monthly",
        T0,
        None,
        T0,
        delivered=True,
        deliveries=(
            {**delivery, "error": f"redirected (302) to {url}/next; redirects are not followed"},
            {**delivery, "channel": "email", "target": "ops@example.com", "error": ""},
        ),
    )
    control.put_alert("deliveries", alert)
    [full] = alerts.list_alerts(control, "deliveries", None, 10, admin=True).data
    assert full.deliveries[0].target == url and url in full.deliveries[0].error
    [shown] = alerts.list_alerts(control, "deliveries", None, 10).data
    assert shown.deliveries[0].target == "https://hooks.slack.com/…"
    assert "secret" not in shown.deliveries[0].error and "https://hooks.slack.com/…" in shown.deliveries[0].error
    assert shown.deliveries[1].target == "ops@example.com"
    assert caps.redacted_url("https://user:pw@[::1]:8443/p?q=1") == "https://[::1]:8443/…"
