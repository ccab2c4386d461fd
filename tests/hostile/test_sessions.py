"""Dashboard sessions that no tenant can turn against another: a key signing in in a loop ends
only its own sessions; sign-in attempts are rate-limited per address and per key; a sign-in posted
from another site is refused; the cookie's name and Secure come from the configured public URL,
never from a request header."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from llmobserve.control import ControlStore, default_url
from llmobserve.dashboard import install_dashboard, page_failed
from llmobserve.query_api import Services, create_app
from llmobserve.query_api.services import SessionStore
from llmobserve.storage import Store, StoreConfig
from tests.conftest import LiveServer


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_signing_in_a_thousand_times_ends_only_its_own_sessions(control: ControlStore) -> None:
    clock = Clock()
    store = SessionStore(control, clock=clock)  # a key's quota: 20
    _, key_a = control.create_key("tenant-a", ("read",))
    _, key_b = control.create_key("tenant-b", ("read",))
    victim = store.create(key_b, "tenant-b")
    made = []
    for _ in range(1000):
        clock.now += 1
        made.append(store.create(key_a, "tenant-a"))
    assert store.get(victim.id) is not None
    assert [s for s in made if store.get(s.id)] == made[-20:]  # the key's own oldest made room


def test_the_keys_least_recently_used_session_goes_first(control: ControlStore) -> None:
    clock = Clock()
    store = SessionStore(control, clock=clock, idle_s=600)  # seen_at is written at most every 60 s
    _, key = control.create_key("t", ("read",))
    first, second, *others = (store.create(key, "t") for _ in range(20))
    clock.now += 61
    assert store.get(first.id) is not None  # in use: the idle one goes instead
    newest = store.create(key, "t")
    assert store.get(second.id) is None
    assert all(store.get(s.id) for s in (first, *others, newest))


def test_a_full_workspace_makes_room_in_itself_only(control: ControlStore) -> None:
    clock = Clock()
    store = SessionStore(control, per_tenant=50, clock=clock)
    _, key_b = control.create_key("tenant-b", ("read",))
    victims = [store.create(key_b, "tenant-b") for _ in range(3)]
    for _ in range(40):  # an admin key can make many keys: each within its quota, the workspace not
        _, key = control.create_key("tenant-a", ("read",))
        for _ in range(20):
            clock.now += 1
            store.create(key, "tenant-a")
    assert all(store.get(v.id) for v in victims)
    with control.engine.connect() as conn:
        held = conn.exec_driver_sql("SELECT count(*) FROM sessions WHERE workspace = 'tenant-a'").scalar()
    assert held == 50


@pytest.fixture
def in_process(tmp_path: Path) -> Iterator[tuple[TestClient, Services, str, str]]:
    """A dashboard whose session store is small enough for one key to fill it."""
    store = Store.open(StoreConfig(tmp_path / "data"))
    control = ControlStore.open(default_url(tmp_path / "data"))
    key_a, _ = control.create_key("tenant-a", ("ingest", "read"))
    key_b, _ = control.create_key("tenant-b", ("read",))
    services = Services.build(store, control, sessions=SessionStore(control, per_tenant=50))
    app = create_app(services, page_error=page_failed)
    install_dashboard(app)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client, services, key_a, key_b
    store.close()
    control.close()


def _sign_in(client: TestClient, key: str) -> str:
    client.cookies.clear()
    signed = client.post("/login", data={"key": key, "next": "/caps"}, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    return str(signed.cookies["llmo_session"])


def _status(client: TestClient, cookie: str) -> int:
    client.cookies.clear()
    return client.get("/caps", headers={"cookie": f"llmo_session={cookie}"}, follow_redirects=False).status_code


def test_signing_in_in_a_loop_leaves_another_keys_session_signed_in(
    in_process: tuple[TestClient, Services, str, str],
) -> None:
    client, services, key_a, key_b = in_process
    victim = _sign_in(client, key_b)
    first = _sign_in(client, key_a)
    looped = [_sign_in(client, key_a) for _ in range(25)]  # within the per-key rate limit
    for _ in range(1000):  # what a minute of many addresses could add
        services.sessions.create(key_a.split("_")[1], "tenant-a")
    assert _status(client, victim) == 200
    assert _status(client, first) == 303  # the key's own oldest went
    assert [_status(client, c) for c in looped] == [303] * 25


def _post_login(
    server: LiveServer, key: str, headers: dict[str, str] | None = None, address: str = "127.0.0.1"
) -> httpx.Response:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30) as client:
        return client.post(f"{server.http_url}/login", data={"key": key, "next": "/"}, headers=headers or {})


def test_a_sign_in_posted_from_another_site_is_refused(server: LiveServer) -> None:
    key = server.create_key("sessions-csrf", "read")
    for hostile in (
        {"origin": "https://evil.example"},
        {"referer": "https://evil.example/form"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"origin": server.http_url, "sec-fetch-site": "cross-site"},
    ):
        refused = _post_login(server, key, hostile)
        assert refused.status_code == 403, hostile
        assert "set-cookie" not in refused.headers, hostile
        assert "own page" in refused.text
    same = {"origin": server.http_url, "referer": server.http_url + "/login", "sec-fetch-site": "same-origin"}
    signed = _post_login(server, key, same)
    assert signed.status_code == 303 and "llmo_session" in signed.cookies


def test_failed_sign_ins_are_limited_per_address(server: LiveServer) -> None:
    key = server.create_key("sessions-address-limit", "read")
    for _ in range(10):
        guess = f"llmo_{secrets.token_hex(6)}_{secrets.token_urlsafe(24)}"
        assert _post_login(server, guess, address="127.0.0.2").status_code == 401
    limited = _post_login(server, key, address="127.0.0.2")  # even the right key waits now
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert "Too many sign-in attempts" in limited.text and "set-cookie" not in limited.headers
    assert _post_login(server, key, address="127.0.0.3").status_code == 303  # another address is not


def test_sign_ins_are_limited_per_key(server: LiveServer) -> None:
    key, other = server.create_key("sessions-key-limit", "read"), server.create_key("sessions-key-limit", "read")
    for _ in range(60):
        assert _post_login(server, key, address="127.0.0.4").status_code == 303
    for address in ("127.0.0.4", "127.0.0.5"):
        limited = _post_login(server, key, address=address)
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert _post_login(server, other, address="127.0.0.4").status_code == 303  # another key is not


def test_a_forwarded_proto_header_does_not_make_the_cookie_secure(server: LiveServer) -> None:
    key = server.create_key("sessions-proto", "read")
    signed = _post_login(server, key, {"x-forwarded-proto": "https"})
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith("llmo_session=") and "secure" not in cookie.lower()


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server told it is reached over https (its TLS ends at a proxy; the test talks plain http)."""
    live = LiveServer(
        tmp_path_factory.mktemp("https") / "data", env={"LLMOBSERVE_PUBLIC_URL": "https://llmo.example"}
    ).start()
    yield live
    live.stop()


def test_over_https_the_cookie_is_a_secure_host_cookie(https_server: LiveServer) -> None:
    key = https_server.create_key("sessions-https", "read")
    signed = _post_login(https_server, key)
    cookie = signed.headers["set-cookie"]
    name, _, value = cookie.split(";")[0].partition("=")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert name == "__Host-llmo_session" and {"secure", "path=/", "httponly", "samesite=strict"} <= attributes
    assert not any(a.startswith("domain") for a in attributes)
    url = https_server.http_url + "/"
    assert httpx.get(url, cookies={name: value}, follow_redirects=False).status_code == 200
    assert httpx.get(url, cookies={"llmo_session": value}, follow_redirects=False).status_code == 303
