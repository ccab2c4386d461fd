"""Issue 12: a threshold crossing is told once, within seconds, by e-mail (the real ``sendgrid``
client against a stand-in SendGrid) and webhook; never again, also after a restart; a failing
webhook is retried, its failure recorded, and the monitor goes on."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, LiveServer
from tests.prices import cost
from tests.standin.provider import StandInProvider, Usage
from tests.standin.sendgrid_api import StandInSendGrid
from tests.standin.webhooks import WebhookReceiver

APP = str(ROOT / "tests" / "e2e" / "caps_app.py")


def run_app(provider: StandInProvider, server: LiveServer, key: str, plan: dict) -> list[dict]:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, APP, provider.url, key, server.grpc_target, server.http_url, json.dumps(plan)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def api(server: LiveServer, key: str, method: str, path: str, body: object | None = None) -> httpx.Response:
    return httpx.request(
        method, f"{server.http_url}/api/v1{path}", json=body, timeout=60, headers={"authorization": f"Bearer {key}"}
    )


def wait_for(condition, seconds: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def confirm_recipients(server: LiveServer, sendgrid: StandInSendGrid) -> None:
    """Follow every confirmation link e-mailed so far, as each recipient would, and forget those mails."""
    links = [m for m in sendgrid.messages if m.json["subject"].startswith("Confirm spending alerts")]
    for mail in links:
        text = next(c["value"] for c in mail.json["content"] if c["type"] == "text/plain")
        token = re.search(r"/confirm-recipient\?token=([A-Za-z0-9_\-]+)", text)
        assert token is not None, text
        done = httpx.post(f"{server.http_url}/confirm-recipient", data={"token": token.group(1)}, timeout=30)
        assert done.status_code == 200, done.text
    sendgrid.messages[:] = [m for m in sendgrid.messages if m not in links]


def send_test(server: LiveServer, key: str, cap_id: str) -> dict:  # type: ignore[type-arg]
    """POST a test notification (202: queued) and wait for its deliveries in the alert history."""
    queued = api(server, key, "POST", f"/caps/{cap_id}/test")
    assert queued.status_code == 202, queued.text
    alert_id = queued.json()["alert"]["id"]
    found: list[dict] = []  # type: ignore[type-arg]

    def delivered() -> bool:
        found[:] = [
            a for a in api(server, key, "GET", f"/alerts?cap_id={cap_id}").json()["data"] if a["id"] == alert_id
        ]
        return bool(found) and found[0]["delivered"]

    wait_for(delivered, 30)
    return found[0]


@pytest.fixture
def notified() -> Iterator[tuple[StandInSendGrid, WebhookReceiver]]:
    with StandInSendGrid() as sendgrid, WebhookReceiver() as hooks:
        yield sendgrid, hooks
        assert sendgrid.errors == [] and hooks.errors == []


def _server(tmp_path: Path, sendgrid: StandInSendGrid) -> LiveServer:
    return LiveServer(
        tmp_path / "data",
        env={
            "SENDGRID_API_KEY": sendgrid.api_key,
            "LLMOBSERVE_SENDGRID_HOST": sendgrid.url,
            "LLMOBSERVE_WEBHOOKS_ALLOW_PRIVATE": "true",
        },
    )


def test_each_threshold_alerts_once_within_seconds_and_not_again_after_restart(
    tmp_path: Path, notified: tuple[StandInSendGrid, WebhookReceiver]
) -> None:
    sendgrid, hooks = notified
    server = _server(tmp_path, sendgrid).start()
    per_call = cost("gpt-4o", 10_000, 1_000)  # $0.035: calls 2 and 3 cross 50 %, then 80 % and 100 % at once
    assert per_call == Decimal("0.035")
    try:
        admin = server.admin_key
        assert admin is not None
        cap = api(
            server,
            admin,
            "POST",
            "/caps",
            {
                "name": "daily budget",
                "scope": "global",
                "period": "daily",
                "limit_usd": "0.10",
                "thresholds": ["0.5", "0.8", "1.0"],
                "recipients": ["ops@example.com", "cto@example.com"],
                "webhooks": [hooks.url_for("/slack")],
            },
        ).json()
        confirm_recipients(server, sendgrid)  # else they get no alerts: the server is no open relay
        ingest = server.create_key("default", "ingest")
        with StandInProvider(usage=Usage(input=10_000, output=1_000)) as provider:
            acks = [r["ack"] for r in run_app(provider, server, ingest, {"calls": [{"customer": "u1"}] * 3})]
        wait_for(lambda: len(sendgrid.messages) == 3 and len(hooks.received) == 3)
        time.sleep(1.0)  # nothing more may come
        assert len(sendgrid.messages) == 3 and len(hooks.received) == 3

        by_threshold = {h.json["threshold"]: h for h in hooks.received}
        assert sorted(by_threshold) == ["0.5", "0.8", "1"]
        crossing = {"0.5": acks[1], "0.8": acks[2], "1": acks[2]}
        for threshold, hook in by_threshold.items():
            # the spend when the monitor saw the crossing: writes arriving together are taken together
            assert Decimal(threshold) * Decimal("0.10") <= Decimal(hook.json["spend_usd"]) <= 3 * per_call
            assert hook.json["cap"]["id"] == cap["id"] and hook.json["type"] == "spending_cap.threshold_crossed"
            assert "daily budget" in hook.json["text"] and hook.headers["idempotency-key"] == hook.json["alert_id"]
            assert 0 <= hook.wall.timestamp() - crossing[threshold] <= 10, threshold
        for mail in sendgrid.messages:
            # one personalization per recipient: recipients do not see each other's addresses
            assert sorted(t["email"] for p in mail.json["personalizations"] for t in p["to"]) == [
                "cto@example.com",
                "ops@example.com",
            ]
            assert {c["type"] for c in mail.json["content"]} == {"text/plain", "text/html"}
            assert mail.wall.timestamp() - acks[1] <= 10 + (acks[2] - acks[1])
        assert sorted(m.json["subject"].split(" at ")[1].split("%")[0] for m in sendgrid.messages) == [
            "100",
            "50",
            "80",
        ]

        history = api(server, admin, "GET", "/alerts").json()
        assert history["count"] == 3
        for alert in history["data"]:
            assert alert["cap_id"] == cap["id"] and alert["delivered"] and not alert["test"]
            assert sorted((d["channel"], d["ok"], d["attempts"]) for d in alert["deliveries"]) == [
                ("email", True, 1),
                ("webhook", True, 1),
            ]
        status = api(server, admin, "GET", f"/caps/{cap['id']}").json()
        assert (status["spend_usd"], status["state"], status["percent"]) == ("0.105", "exceeded", 105.0)
    finally:
        server.stop()

    server.start()  # same data dir: the fired alerts are remembered
    try:
        with StandInProvider(usage=Usage(input=10_000, output=1_000)) as provider:
            run_app(provider, server, server.create_key("default", "ingest"), {"calls": [{"customer": "u1"}]})
        time.sleep(2.0)  # a write was checked, and the start-up recompute ran: no duplicate may follow
        assert len(sendgrid.messages) == 3 and len(hooks.received) == 3
        assert api(server, admin, "GET", "/alerts").json()["count"] == 3
    finally:
        server.stop()


def test_failing_webhook_is_retried_recorded_and_the_monitor_goes_on(
    tmp_path: Path, notified: tuple[StandInSendGrid, WebhookReceiver]
) -> None:
    sendgrid, hooks = notified
    hooks.fail_next(500, times=100, path="/broken")
    server = _server(tmp_path, sendgrid).start()
    try:
        admin = server.admin_key
        assert admin is not None
        broken = api(
            server,
            admin,
            "POST",
            "/caps",
            {
                "scope": "customer",
                "value": "u1",
                "limit_usd": "0.01",
                "thresholds": ["1"],
                "webhooks": [hooks.url_for("/broken")],
            },
        ).json()
        fine = api(
            server,
            admin,
            "POST",
            "/caps",
            {
                "scope": "customer",
                "value": "u2",
                "limit_usd": "0.01",
                "thresholds": ["1"],
                "webhooks": [hooks.url_for("/fine")],
            },
        ).json()
        test = send_test(server, admin, broken["id"])
        [delivery] = test["deliveries"]
        assert (delivery["ok"], delivery["attempts"], delivery["status"]) == (False, 4, 500)
        assert delivery["error"] == "HTTP 500 Internal Server Error" and test["test"]

        ingest = server.create_key("default", "ingest")
        with StandInProvider(usage=Usage(input=10_000, output=1_000)) as provider:
            run_app(provider, server, ingest, {"calls": [{"customer": "u1"}, {"customer": "u2"}]})
        wait_for(lambda: any(h.path == "/fine" for h in hooks.received))  # the monitor went on
        wait_for(
            lambda: (
                [
                    a
                    for a in api(server, admin, "GET", f"/alerts?cap_id={broken['id']}").json()["data"]
                    if not a["test"] and a["delivered"]
                ]
                != []
            ),
            30,
        )
        [real] = [
            a for a in api(server, admin, "GET", f"/alerts?cap_id={broken['id']}").json()["data"] if not a["test"]
        ]
        assert [(d["ok"], d["attempts"], d["status"]) for d in real["deliveries"]] == [(False, 4, 500)]
        assert len([h for h in hooks.received if h.path == "/broken"]) == 8  # 4 for the test, 4 for the alert
        assert api(server, admin, "GET", f"/alerts?cap_id={fine['id']}").json()["count"] == 1
    finally:
        server.stop()


def test_a_default_server_never_calls_webhooks_inside_its_network(tmp_path: Path) -> None:
    """SSRF: on a shared server a webhook is a request made on a tenant's behalf."""
    server = LiveServer(tmp_path / "data").start()
    try:
        admin = server.admin_key
        assert admin is not None
        for url in (
            "http://127.0.0.1:9/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/x",
            "http://localhost:8080/x",
            "http://10.0.0.7/x",
        ):
            refused = api(server, admin, "POST", "/caps", {"scope": "global", "limit_usd": "1", "webhooks": [url]})
            assert refused.status_code == 422 and "LLMOBSERVE_WEBHOOKS_ALLOW_PRIVATE" in refused.text, url
        # A name is resolved at delivery: this machine's own name points inside.
        inside = f"http://{socket.gethostname()}:9/hook"
        cap = api(server, admin, "POST", "/caps", {"scope": "global", "limit_usd": "1", "webhooks": [inside]})
        assert cap.status_code == 201, cap.text
        [delivery] = send_test(server, admin, cap.json()["id"])["deliveries"]
        assert not delivery["ok"] and ("non-public" in delivery["error"] or "cannot resolve" in delivery["error"])
        assert delivery["status"] is None
    finally:
        server.stop()
