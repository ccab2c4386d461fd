"""Alerts no tenant can turn against the server or the others: an e-mail recipient confirms once, by
a link mailed to it (the real ``sendgrid`` client against a stand-in), before it gets alerts, and
the links themselves are bounded per tenant and day; each cap has a webhook signing secret shown
once; a key without the admin scope never sees a webhook URL's path (Slack's secret)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.standin.sendgrid_api import StandInSendGrid
from tests.standin.webhooks import Received, WebhookReceiver

_LINK = re.compile(r"http://[^\s\"<>]+/confirm-recipient\?token=[A-Za-z0-9_\-]+")
_SECRET = re.compile(r"whsec_[A-Za-z0-9_\-]{43}")


@dataclass
class Setup:
    server: LiveServer
    sendgrid: StandInSendGrid
    hooks: WebhookReceiver


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with StandInSendGrid() as sendgrid, WebhookReceiver() as hooks:
        server = LiveServer(
            tmp_path_factory.mktemp("confirm") / "data",
            env={
                "SENDGRID_API_KEY": sendgrid.api_key,
                "LLMOBSERVE_SENDGRID_HOST": sendgrid.url,
                "LLMOBSERVE_WEBHOOKS_ALLOW_PRIVATE": "true",
            },
        ).start()
        try:
            yield Setup(server, sendgrid, hooks)
        finally:
            server.stop()
        assert sendgrid.errors == [] and hooks.errors == []


def _api(server: LiveServer, key: str, method: str, path: str, body: object | None = None) -> httpx.Response:
    return httpx.request(
        method, f"{server.http_url}/api/v1{path}", json=body, timeout=60, headers={"authorization": f"Bearer {key}"}
    )


def _confirmations(sendgrid: StandInSendGrid, domain: str) -> list[tuple[str, Received]]:
    """(address, mail) of each confirmation e-mail sent to an address at ``domain``."""
    found = []
    for mail in sendgrid.messages:
        to = [t["email"] for p in mail.json["personalizations"] for t in p["to"]]
        if mail.json["subject"].startswith("Confirm spending alerts") and all(a.endswith("@" + domain) for a in to):
            assert len(to) == 1, "one link per address, mailed to it alone"
            found.append((to[0], mail))
    return found


def _link(mail: Received) -> str:
    text = next(c["value"] for c in mail.json["content"] if c["type"] == "text/plain")
    found = _LINK.search(text)
    assert found is not None, text
    return found.group(0)


def _states(server: LiveServer, key: str, cap_id: str) -> dict[str, bool]:
    cap = _api(server, key, "GET", f"/caps/{cap_id}").json()
    return {s["address"]: s["confirmed"] for s in cap["recipients_status"]}


def test_recipients_confirm_once_by_a_posted_link(setup: Setup) -> None:
    server, sendgrid = setup.server, setup.sendgrid
    admin, reader = server.create_key("confirming", "admin"), server.create_key("confirming", "read")
    made = _api(
        server,
        admin,
        "POST",
        "/caps",
        {
            "name": "Buy cheap pills at spam.example",
            "scope": "global",
            "limit_usd": "5",
            "recipients": ["Ops@confirm.example", "cto@confirm.example"],
        },
    )
    assert made.status_code == 201, made.text
    cap = made.json()
    assert [(s["address"], s["confirmed"]) for s in cap["recipients_status"]] == [
        ("Ops@confirm.example", False),
        ("cto@confirm.example", False),
    ]
    assert all(s["confirmation_sent_at"] for s in cap["recipients_status"])
    mails = dict(_confirmations(sendgrid, "confirm.example"))
    assert sorted(mails) == ["Ops@confirm.example", "cto@confirm.example"]
    for address, mail in mails.items():
        body = " ".join(c["value"] for c in mail.json["content"])
        assert "confirming" in body and address in body
        assert "pills" not in body and "pills" not in mail.json["subject"]  # nothing the tenant typed but its name
    ops, cto = _link(mails["Ops@confirm.example"]), _link(mails["cto@confirm.example"])
    assert ops != cto

    for _ in range(2):  # mail scanners open links: that confirms nothing
        page = httpx.get(ops, timeout=30)
        assert page.status_code == 200 and "ops@confirm.example" in page.text and "confirming" in page.text
        assert 'method="post"' in page.text and "spending" in page.text
    assert _states(server, reader, cap["id"]) == {"Ops@confirm.example": False, "cto@confirm.example": False}

    token = ops.split("token=")[1]
    forged = httpx.post(
        f"{server.http_url}/confirm-recipient",
        data={"token": token},
        headers={"Origin": "http://evil.example"},
        timeout=30,
    )
    assert forged.status_code == 403
    assert _states(server, reader, cap["id"])["Ops@confirm.example"] is False

    done = httpx.post(f"{server.http_url}/confirm-recipient", data={"token": token}, timeout=30)
    assert done.status_code == 200 and "Confirmed" in done.text, done.text
    assert _states(server, reader, cap["id"]) == {"Ops@confirm.example": True, "cto@confirm.example": False}
    [listed] = _api(server, reader, "GET", "/caps").json()["data"]
    assert [s["confirmed"] for s in listed["recipients_status"]] == [True, False]
    [polled] = _api(server, reader, "GET", "/caps/status").json()["caps"]
    assert [s["confirmed"] for s in polled["recipients_status"]] == [True, False]

    again = httpx.post(f"{server.http_url}/confirm-recipient", data={"token": token}, timeout=30)
    assert again.status_code == 410 and "already used" in again.text
    assert httpx.get(ops, timeout=30).status_code == 410
    for unknown in ("x" * 43, "", "y" * 5000):
        assert httpx.get(f"{server.http_url}/confirm-recipient", params={"token": unknown}).status_code == 404
        assert httpx.post(f"{server.http_url}/confirm-recipient", data={"token": unknown}).status_code == 404

    # Saving again within the hour mails nobody: neither the confirmed address nor the pending one.
    changed = _api(
        server,
        admin,
        "PATCH",
        f"/caps/{cap['id']}",
        {"limit_usd": "6", "recipients": ["ops@CONFIRM.example", "cto@confirm.example"]},
    )
    assert changed.status_code == 200, changed.text
    assert [s["confirmed"] for s in changed.json()["recipients_status"]] == [True, False]
    assert "waiting" in changed.json()["recipients_status"][1]["detail"]
    assert len(_confirmations(sendgrid, "confirm.example")) == 2
    store_confirmed = _api(server, admin, "GET", "/caps").json()["data"][0]["recipients_status"]
    assert store_confirmed[0]["confirmed_at"] is not None


def test_confirmation_mails_are_bounded_per_tenant_and_day(setup: Setup) -> None:
    server, sendgrid = setup.server, setup.sendgrid
    admin = server.create_key("bounded", "admin")
    addresses = [f"user{i:02d}@bound.example" for i in range(51)]
    made = []
    for part in (addresses[:20], addresses[20:40], addresses[40:]):
        answer = _api(server, admin, "POST", "/caps", {"scope": "global", "limit_usd": "1", "recipients": part})
        assert answer.status_code == 201, answer.text
        made.append(answer.json())
    sent = _confirmations(sendgrid, "bound.example")
    assert sorted(a for a, _ in sent) == addresses[:50]
    [last] = [s for s in made[2]["recipients_status"] if s["address"] == addresses[50]]
    assert (last["confirmed"], last["confirmation_sent_at"]) == (False, None)
    assert "50 confirmation e-mails" in last["detail"] and "24 hours" in last["detail"]
    again = _api(server, admin, "PATCH", f"/caps/{made[2]['id']}", {"name": "retry"}).json()
    assert "50 confirmation e-mails" in again["recipients_status"][-1]["detail"]
    assert len(_confirmations(sendgrid, "bound.example")) == 50
    # Another tenant's bound is its own.
    other = server.create_key("bounded-other", "admin")
    fresh = _api(server, other, "POST", "/caps", {"scope": "global", "limit_usd": "1", "recipients": [addresses[50]]})
    assert fresh.json()["recipients_status"][0]["confirmation_sent_at"] is not None
    assert len(_confirmations(sendgrid, "bound.example")) == 51


def test_webhook_secret_is_shown_once_and_rotates(setup: Setup) -> None:
    server = setup.server
    admin, reader = server.create_key("signing", "admin"), server.create_key("signing", "read")
    hook = setup.hooks.url_for("/services/T000/B000/XXXXsecretpath")
    made = _api(server, admin, "POST", "/caps", {"scope": "global", "limit_usd": "1", "webhooks": [hook]})
    assert made.status_code == 201, made.text
    secret = made.json()["webhook_secret"]
    assert _SECRET.fullmatch(secret), secret
    cap_id = made.json()["id"]
    for key in (admin, reader):
        for path in ("/caps", f"/caps/{cap_id}", "/caps/status"):
            answer = _api(server, key, "GET", path)
            assert answer.status_code == 200 and "webhook_secret" not in answer.text and secret not in answer.text
    patched = _api(server, admin, "PATCH", f"/caps/{cap_id}", {"name": "renamed"})
    assert "webhook_secret" not in patched.json()

    assert _api(server, reader, "POST", f"/caps/{cap_id}/webhook-secret").status_code == 403
    rotated = _api(server, admin, "POST", f"/caps/{cap_id}/webhook-secret")
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["cap_id"] == cap_id and _SECRET.fullmatch(rotated.json()["webhook_secret"])
    assert rotated.json()["webhook_secret"] != secret
    assert _api(server, admin, "POST", "/caps/cap_0000000000000000/webhook-secret").status_code == 404
    assert (
        _api(server, server.create_key("signing-other", "admin"), "POST", f"/caps/{cap_id}/webhook-secret").status_code
        == 404
    )
    second = _api(server, admin, "POST", "/caps", {"scope": "global", "limit_usd": "1"}).json()["webhook_secret"]
    assert second not in (secret, rotated.json()["webhook_secret"])


def test_only_admins_see_webhook_paths(setup: Setup) -> None:
    server, hooks = setup.server, setup.hooks
    admin, reader = server.create_key("redacted", "admin"), server.create_key("redacted", "read")
    ingest = server.create_key("redacted", "ingest")
    hook = hooks.url_for("/services/T000/B000/XXXXsecretpath")
    host = hook.split("/services")[0]
    cap_id = _api(server, admin, "POST", "/caps", {"scope": "global", "limit_usd": "1", "webhooks": [hook]}).json()[
        "id"
    ]

    def webhooks(key: str) -> list[list[str]]:
        return [
            _api(server, key, "GET", "/caps").json()["data"][0]["webhooks"],
            _api(server, key, "GET", f"/caps/{cap_id}").json()["webhooks"],
            _api(server, key, "GET", "/caps/status").json()["caps"][0]["webhooks"],
        ]

    assert webhooks(admin) == [[hook]] * 3
    assert webhooks(reader) == [[host + "/…"]] * 3
    assert _api(server, ingest, "GET", "/caps/status").json()["caps"][0]["webhooks"] == []

    assert _api(server, admin, "POST", f"/caps/{cap_id}/test").status_code == 202
    deadline = time.monotonic() + 30
    while not (alerts := _api(server, reader, "GET", "/alerts").json()["data"]) or not alerts[0]["delivered"]:
        assert time.monotonic() < deadline, alerts
        time.sleep(0.1)
    [delivery] = alerts[0]["deliveries"]
    assert (delivery["channel"], delivery["target"]) == ("webhook", host + "/…")
    assert "secretpath" not in _api(server, reader, "GET", "/alerts").text


@contextmanager
def _session(server: LiveServer, key: str) -> Iterator[httpx.Client]:
    """A browser's cookies, signed in with ``key``."""
    with httpx.Client(base_url=server.http_url, timeout=60) as client:
        assert client.post("/login", data={"key": key, "next": "/caps"}).status_code == 303
        yield client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_caps_page_shows_the_secret_once_pending_recipients_and_hides_paths_from_readers(setup: Setup) -> None:
    server = setup.server
    admin, reader = server.create_key("paged", "admin"), server.create_key("paged", "read")
    hook = setup.hooks.url_for("/services/T000/B000/XXXXsecretpath")
    form: dict[str, Any] = {
        "name": "paged cap",
        "scope": "global",
        "period": "monthly",
        "time_zone": "UTC",
        "limit_usd": "3",
        "thresholds": "1",
        "enforcement": "alert_only",
        "recipients": "ops@paged.example",
        "webhooks": hook,
        "enabled": "on",
    }
    with _session(server, admin) as browser:
        token = _csrf(browser.get("/caps/new").text)
        assert browser.post("/caps/new", data={**form, "csrf": token}).status_code == 303
        page = browser.get("/caps").text
        secret = _SECRET.search(page)
        assert secret is not None and "shown only this once" in page
        assert "pending confirmation" in page and "ops@paged.example" in page
        assert hook in page  # an admin sees the full URL
        later = browser.get("/caps").text
        assert secret.group(0) not in later and "pending confirmation" in later
        [cap_id] = re.findall(r'data-cap="(cap_[0-9a-f]{16})"', later)
        assert browser.post(f"/caps/{cap_id}/webhook-secret", data={"csrf": token}).status_code == 303
        rotated = _SECRET.search(browser.get("/caps").text)
        assert rotated is not None and rotated.group(0) != secret.group(0)
    [(_, mail)] = _confirmations(setup.sendgrid, "paged.example")
    assert (
        httpx.post(f"{server.http_url}/confirm-recipient", data={"token": _link(mail).split("token=")[1]}).status_code
        == 200
    )

    with _session(server, reader) as browser:
        page = browser.get("/caps").text
        assert "read-only key" in page and 'data-confirmed="true"' in page and "pending confirmation" not in page
        assert "secretpath" not in page and hook.split("/services")[0] + "/…" in page
        edit = browser.get(f"/caps/{cap_id}/edit").text
        assert "secretpath" not in edit and "webhook-secret" not in edit
        assert browser.post(f"/caps/{cap_id}/webhook-secret", data={"csrf": _csrf(page)}).status_code == 403
