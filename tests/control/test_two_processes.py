"""Two ``serve`` processes on one PostgreSQL control store. Embedded chDB lets one process open a
data dir, so each has its own spans (a ClickHouse server is not available here): spans go to A, the
control records (keys, caps, alerts, sessions, the monitor's lease) are shared."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import LiveServer
from tests.control_db import postgres_database, postgres_reason
from tests.hostile.helpers import export_grpc
from tests.otlp_helpers import chat_attrs, request, span
from tests.standin.webhooks import WebhookReceiver


@pytest.fixture
def database() -> Iterator[str]:
    reason = postgres_reason()
    if reason:
        pytest.skip(reason)
    with postgres_database() as url:
        yield url


def _holder(url: str) -> str | None:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        row = conn.execute("SELECT holder FROM leases WHERE name = 'cap-monitor'").fetchone()
    return None if row is None else str(row[0])


def _wait(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def _cap(server: LiveServer, key: str, name: str, webhook: str) -> str:
    body = {"name": name, "scope": "global", "limit_usd": "0.0001", "period": "monthly", "thresholds": ["1"]}
    body["webhooks"] = [webhook]  # type: ignore[assignment]
    reply = httpx.post(
        f"{server.http_url}/api/v1/caps", json=body, headers={"authorization": f"Bearer {key}"}, timeout=30
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


def _alerts(server: LiveServer, key: str, cap_id: str) -> list[dict[str, object]]:
    return list(server.get("/api/v1/alerts", key, cap_id=cap_id).json()["data"])


def _sign_in(server: LiveServer, key: str) -> str:
    reply = httpx.post(f"{server.http_url}/login", data={"key": key, "next": "/caps"}, timeout=30)
    assert reply.status_code == 303, reply.text
    return str(reply.cookies["llmo_session"])


def _page(server: LiveServer, cookie: str) -> int:
    return httpx.get(f"{server.http_url}/caps", cookies={"llmo_session": cookie}, timeout=30).status_code


def test_one_monitor_notifies_once_and_the_other_takes_over_when_it_dies(tmp_path: Path, database: str) -> None:
    # a 4 s lease: the takeover is the same, sooner than production's 15 s
    env = {
        "LLMOBSERVE_DATABASE_URL": database,
        "LLMOBSERVE_WEBHOOKS_ALLOW_PRIVATE": "true",
        "LLMOBSERVE_CAPS_LEASE_S": "4",
    }
    with WebhookReceiver() as hooks:
        a = LiveServer(tmp_path / "a", env=env).start()
        b = LiveServer(tmp_path / "b", env=env).start()
        try:
            admin = a.admin_key
            assert admin is not None and b.admin_key is None  # one store: the first key is made once
            _wait(
                lambda: _holder(database) is not None and str(tmp_path / "a") in str(_holder(database)), 10, "A leads"
            )
            # Sessions and keys are shared: a session made on A is valid on B, and revoking its key
            # on B signs it out on both at once.
            reader = a.create_key("default", "read")
            cookie = _sign_in(a, reader)
            assert _page(a, cookie) == 200 and _page(b, cookie) == 200
            reader_id = reader.split("_")[1]
            revoked = httpx.delete(
                f"{b.http_url}/api/v1/keys/{reader_id}", headers={"authorization": f"Bearer {admin}"}, timeout=30
            )
            assert revoked.status_code == 204, revoked.text
            assert _page(a, cookie) == 303 and _page(b, cookie) == 303
            _wait(lambda: a.get("/api/v1/keys", reader).status_code == 401, 3, "A refuses the revoked key")

            notified = _cap(a, admin, "notified", hooks.url_for("/notified"))
            hooks.hang_next(60, path="/interrupted")  # A's delivery of this one never ends
            interrupted = _cap(b, admin, "interrupted", hooks.url_for("/interrupted"))
            ingest = a.create_key("default", "ingest")
            body = request(span(attrs=chat_attrs("openai", "gpt-4o", 1000, 200))).SerializeToString()
            assert export_grpc(a.grpc_target, ingest, body).code == "OK"
            _wait(lambda: [r.path for r in hooks.received].count("/notified") == 1, 15, "A notifies")
            _wait(lambda: "/interrupted" in [r.path for r in hooks.received], 15, "A starts the second delivery")
            assert not _alerts(b, admin, interrupted)[0]["delivered"]

            assert a.process is not None
            a.process.send_signal(signal.SIGKILL)
            a.process.wait(10)
            a.process = None
            # B takes the lease within its 4 s expiry (+ one renewal period), resumes the delivery
            # A never finished, and does not send the finished one again.
            _wait(lambda: str(tmp_path / "b") in str(_holder(database)), 10, "B takes the lease")
            _wait(lambda: _alerts(b, admin, interrupted)[0]["delivered"], 20, "B delivers the interrupted alert")
            time.sleep(2)
            paths = [r.path for r in hooks.received]
            assert paths.count("/notified") == 1 and paths.count("/interrupted") == 2, paths
            assert len(_alerts(b, admin, notified)) == 1 and len(_alerts(b, admin, interrupted)) == 1
        finally:
            for server in (a, b):
                if server.process is not None:
                    server.stop()


def test_a_dashboard_session_survives_a_restart(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data").start()
    try:
        assert server.admin_key is not None
        cookie = _sign_in(server, server.admin_key)
        assert _page(server, cookie) == 200
    finally:
        server.stop()
    again = LiveServer(tmp_path / "data").start()
    try:
        assert _page(again, cookie) == 200
    finally:
        again.stop()


def test_strict_mode_holds_over_two_api_processes(tmp_path: Path, database: str) -> None:
    """The strict-mode test of test_caps_block_e2e.py, its 8 SDK processes split over two servers:
    the ledger is the shared control store's, so together they never overrun the cap."""
    from tests.e2e.test_caps_block_e2e import _app, _provider_calls
    from tests.otlp_helpers import breakdown
    from tests.prices import cost
    from tests.standin.provider import StandInProvider, Usage

    env = {"LLMOBSERVE_DATABASE_URL": database}
    servers = [LiveServer(tmp_path / "a", env=env).start(), LiveServer(tmp_path / "b", env=env).start()]
    try:
        admin = servers[0].admin_key
        assert admin is not None
        limit = Decimal("0.10")
        body = {"scope": "global", "period": "daily", "limit_usd": str(limit), "enforcement": "hard_block"}
        made = httpx.post(
            f"{servers[0].http_url}/api/v1/caps", json=body, headers={"authorization": f"Bearer {admin}"}, timeout=30
        )
        assert made.status_code == 201, made.text
        key = servers[0].create_key("default", "ingest")
        per_call = cost("gpt-4o", 20, 100)
        calls = [{"customer": f"p{i % 5}", "max_tokens": 100} for i in range(40)]
        with StandInProvider(usage=Usage(input=20, output=100)) as provider:
            plan = {"calls": calls, "threads": 4, "strict": True}
            apps = [_app(provider, servers[i % 2], key, plan) for i in range(8)]  # each reserves and exports to its own
            results = []
            for app in apps:
                out, err = app.communicate(timeout=300)
                assert app.returncode == 0, err
                results += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
            ok = [r for r in results if r["ok"]]
            assert len(results) == 320 and all(r["ok"] or r["blocked"] for r in results)
            assert _provider_calls(provider) == len(ok)
        spent = sum(
            (Decimal(str(c)) for s in servers for c, _ in breakdown(s.http_url, admin, "model").values()), Decimal(0)
        )
        assert spent == per_call * len(ok)  # the two span stores hold every call once
        assert spent <= limit + cost("gpt-4o", 400, 100), (spent, len(ok))
        assert len(ok) >= 80
        for server in servers:
            open_now = server.get("/api/v1/caps/reservations", admin).json()
            assert open_now == {"open": 0, "reserved_usd": "0"}
    finally:
        for server in servers:
            server.stop()
