"""A tenant admin's webhook URLs cannot reach inside the server's network, stall other tenants' alerts,
or read what a receiver answered.

Names are resolved by a table of ours (the notifier's ``resolver``), standing in for DNS: a
rebinding name answers an allowed address first and loopback after; an IDNA name is spelled
``ssx.example`` by IDNA2003 and ``xn--x-pfa.example`` by IDNA2008, each pointing elsewhere. The
"public" side is 127.0.0.2, allowed by ``allowed_networks`` (the operator's allow-list), and the
inside is a listener on 127.0.0.1 that counts the connections it accepts.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from llmobserve.caps.notify import AlertMessage, Delivery, Notifier, not_public, subject, text_body
from tests.conftest import free_port
from tests.standin.sendgrid_api import StandInSendGrid
from tests.standin.trickle import Trickle

MESSAGE = AlertMessage(
    "alert_0123456789abcdef",
    "tenant-a",
    "cap_1",
    "team budget",
    "global",
    "",
    Decimal("0.8"),
    Decimal("8.5"),
    Decimal("10"),
    "daily",
    "UTC",
    datetime(2026, 12, 7, tzinfo=UTC),
    datetime(2026, 12, 8, tzinfo=UTC),
    datetime(2026, 12, 7, 12, tzinfo=UTC),
    "http://llmo.test/caps/cap_1/edit",
    "alert_only",
)


class Listener:
    """An HTTP server on ``host:port`` that counts connections and answers 200 (or ``status``)."""

    def __init__(
        self, host: str, port: int, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        self.connections = 0
        self.bodies: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self) -> None:
                outer.connections += 1
                super().setup()

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                data = self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.bodies.append(({k.lower(): v for k, v in self.headers.items()}, data))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Inside", "secret-header")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Names:
    """A DNS stand-in: each name's answers in turn (the last one repeats), and every lookup kept."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answers = self.table.get(host)
        if answers is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[min(self.lookups.count(host) - 1, len(answers) - 1)]


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def inside(port: int) -> Iterator[Listener]:
    listener = Listener("127.0.0.1", port)
    yield listener
    listener.close()


@pytest.fixture
def outside(port: int) -> Iterator[Listener]:
    listener = Listener("127.0.0.2", port)
    yield listener
    listener.close()


@pytest.fixture
def notifier() -> Iterator[Callable[..., Notifier]]:
    made: list[Notifier] = []

    def make(names: Names, **options: Any) -> Notifier:
        settings: dict[str, Any] = {"allow_private": False, "allowed_networks": ["127.0.0.2/32"], "attempts": 1}
        made.append(Notifier(None, resolver=names, **{**settings, **options}))
        return made[-1]

    yield make
    for n in made:
        n.close()


def _one(deliveries: list[Delivery]) -> Delivery:
    [delivery] = deliveries
    return delivery


def test_a_rebinding_name_is_connected_to_the_address_that_was_checked(
    notifier: Callable[..., Notifier], inside: Listener, outside: Listener, port: int
) -> None:
    names = Names({"rebind.example": [["127.0.0.2"], ["127.0.0.1"]]})
    delivery = _one(notifier(names).deliver(MESSAGE, [], [f"http://rebind.example:{port}/hook"]))
    assert delivery.ok, delivery.error  # the name resolved once; the connection went where it pointed then
    assert names.lookups == ["rebind.example"] and len(outside.bodies) == 1
    # A new connection resolves anew: the name now points inside, and that is refused.
    delivery = _one(notifier(names).deliver(MESSAGE, [], [f"http://rebind.example:{port}/hook"]))
    assert not delivery.ok and "non-public address(es) 127.0.0.1" in delivery.error
    assert inside.connections == 0


def test_an_idna_name_is_checked_in_the_spelling_it_is_connected_with(
    notifier: Callable[..., Notifier], inside: Listener, outside: Listener, port: int
) -> None:
    names = Names({"ssx.example": [["127.0.0.2"]], "xn--x-pfa.example": [["127.0.0.1"]]})
    delivery = _one(notifier(names).deliver(MESSAGE, [], [f"http://ßx.example:{port}/hook"]))
    assert not delivery.ok and delivery.status is None
    assert "xn--x-pfa.example resolves to non-public address(es) 127.0.0.1" in delivery.error
    assert inside.connections == 0 and outside.connections == 0
    assert names.lookups == ["xn--x-pfa.example"]  # one resolution, the one the connection would use


def test_a_name_with_one_inside_address_among_public_ones_is_refused(
    notifier: Callable[..., Notifier], inside: Listener, port: int
) -> None:
    names = Names({"mixed.example": [["127.0.0.2", "127.0.0.1"]]})
    delivery = _one(notifier(names).deliver(MESSAGE, [], [f"http://mixed.example:{port}/hook"]))
    assert not delivery.ok and "non-public" in delivery.error
    assert inside.connections == 0


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("::ffff:127.0.0.1", True),  # IPv4-mapped
        ("::ffff:169.254.169.254", True),
        ("64:ff9b::a9fe:a9fe", True),  # NAT64 of 169.254.169.254
        ("64:ff9b::a00:1", True),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::1", True),  # 6to4 of 127.0.0.1
        ("2002:c0a8:101::1", True),  # 6to4 of 192.168.1.1
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", True),  # Teredo, client 10.0.0.1
        ("169.254.169.254", True),
        ("fd00::1", True),
        ("93.184.216.34", False),
        ("2606:4700:4700::1111", False),
        ("64:ff9b::808:808", False),  # NAT64 of 8.8.8.8
    ],
)
def test_addresses_that_lead_inside_are_not_public(address: str, inside: bool) -> None:
    assert not_public(address) is inside


def test_the_receivers_answer_is_kept_as_its_status_only(notifier: Callable[..., Notifier], port: int) -> None:
    listener = Listener("127.0.0.2", port, status=403, body=b'{"Code": "AccessDenied", "secret": "AKIA..."}')
    try:
        delivery = _one(
            notifier(Names({"hooks.example": [["127.0.0.2"]]})).deliver(
                MESSAGE, [], [f"http://hooks.example:{port}/hook"]
            )
        )
    finally:
        listener.close()
    assert (delivery.status, delivery.error) == (403, "HTTP 403 Forbidden")


def test_a_trickling_receiver_is_cut_off_at_the_deadline(notifier: Callable[..., Notifier]) -> None:
    trickle = Trickle(every_s=4.0)  # below the 6 s read timeout: only a whole-request deadline ends it
    n = notifier(Names({}), allow_private=True, timeout_s=6.0, deadline_s=5.0)  # 10 s by default; shorter here
    try:
        started = time.monotonic()
        delivery = _one(n.deliver(MESSAGE, [], [f"http://127.0.0.1:{trickle.port}/hook"]))
        took = time.monotonic() - started
    finally:
        trickle.close()
    assert not delivery.ok and delivery.error == "not answered within the 5 s deadline"
    assert 4.8 <= took < 6


def test_slow_receivers_of_one_tenant_leave_the_others_alerts_on_time(notifier: Callable[..., Notifier]) -> None:
    """20 trickling webhooks on tenant A (each held to the 10 s deadline, 4 attempts): tenant B's
    alert is delivered at once, as A's use at most their share of the threads."""
    trickle = Trickle(every_s=4.0)
    fast = Listener("127.0.0.1", free_port())
    n = notifier(Names({}), allow_private=True, attempts=4, backoff_s=0.1)
    try:
        hooks = [f"http://127.0.0.1:{trickle.port}/a{i}" for i in range(20)]
        n.send(MESSAGE, [], hooks, lambda deliveries: None)
        time.sleep(0.5)  # A's deliveries are under way
        started = time.monotonic()
        b = replace(MESSAGE, tenant="tenant-b", alert_id="alert_bbbbbbbbbbbbbbbb")
        delivery = _one(n.deliver(b, [], [f"http://127.0.0.1:{fast._server.server_port}/b"]))
        assert delivery.ok and time.monotonic() - started < 2.0
    finally:
        trickle.close()
        fast.close()


def test_webhooks_are_signed_with_the_caps_secret(notifier: Callable[..., Notifier], port: int) -> None:
    listener = Listener("127.0.0.2", port)
    try:
        names = Names({"hooks.example": [["127.0.0.2"]]})
        assert _one(notifier(names).deliver(MESSAGE, [], [f"http://hooks.example:{port}/h"], "whsec_test")).ok
    finally:
        listener.close()
    [(headers, body)] = listener.bodies
    stamp, signature = (part.split("=", 1)[1] for part in headers["x-llmobserve-signature"].split(","))
    expected = hmac.new(b"whsec_test", f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected) and abs(int(stamp) - time.time()) < 60


def test_cookies_set_by_one_receiver_are_never_sent_to_another(notifier: Callable[..., Notifier]) -> None:
    setter = Listener("127.0.0.1", free_port(), headers={"Set-Cookie": "session=from-a; Path=/"})
    other = Listener("127.0.0.1", free_port())
    n = notifier(Names({}), allow_private=True)
    try:
        n.deliver(MESSAGE, [], [f"http://127.0.0.1:{setter._server.server_port}/h"])
        n.deliver(replace(MESSAGE, tenant="tenant-b"), [], [f"http://127.0.0.1:{other._server.server_port}/h"])
    finally:
        setter.close()
        other.close()
    [(headers, _)] = other.bodies
    assert "cookie" not in headers


def test_the_e_mail_budget_holds_per_tenant() -> None:
    with StandInSendGrid() as sg:
        n = Notifier(sg.api_key, sendgrid_host=sg.url, emails_per_hour=5, attempts=1)
        try:
            sent = [n.deliver(MESSAGE, [f"r{i}@a.test" for i in range(2)], [])[0] for _ in range(4)]
            other = n.deliver(replace(MESSAGE, tenant="tenant-b"), ["x@b.test"], [])[0]
        finally:
            n.close()
    assert [d.ok for d in sent] == [True, True, False, False]
    assert "e-mail budget (5 an hour)" in sent[2].error
    assert other.ok


def test_a_customer_id_with_line_breaks_adds_no_line_to_the_e_mail() -> None:
    forged = "acme\nSpend:       $0.00\r\nView the cap: https://evil.example/"
    message = replace(MESSAGE, scope="each_customer", value=forged)
    body = text_body(message)
    assert len(body.splitlines()) == len(text_body(replace(message, value="acme")).splitlines())
    assert "https://evil.example/" not in [line.split(": ", 1)[-1] for line in body.splitlines()]
    assert "\n" not in subject(message)
    digest = replace(message, customers=(forged, "b"), more_customers=3)
    assert len(text_body(digest).splitlines()) == len(body.splitlines())
