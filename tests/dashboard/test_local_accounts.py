"""Local accounts in a browser: sign up, the verification link read from the stand-in SendGrid,
sign out, forget the password, reset it by link; links used once; nothing tells whether an address
has an account; password guessing is rate-limited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from llmobserve.control import ControlStore, default_url
from llmobserve.query_api.services import SessionStore
from tests.conftest import LiveServer
from tests.dashboard.conftest import SCREENSHOTS
from tests.standin.sendgrid_api import StandInSendGrid


@pytest.fixture(scope="module")
def mail() -> Iterator[StandInSendGrid]:
    with StandInSendGrid(api_key="SG.accounts") as sendgrid:
        yield sendgrid


@pytest.fixture(scope="module")
def live(mail: StandInSendGrid, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(
        tmp_path_factory.mktemp("accounts") / "data",
        env={"SENDGRID_API_KEY": mail.api_key, "LLMOBSERVE_SENDGRID_HOST": mail.url, "LLMOBSERVE_SIGNUP": "open"},
    ).start()
    yield server
    server.stop()


def _link(mail: StandInSendGrid, to: str, path: str) -> str:
    for message in reversed(mail.messages):
        body = message.json
        if body["personalizations"][0]["to"][0]["email"] == to:
            text = next(c["value"] for c in body["content"] if c["type"] == "text/plain")
            found = re.search(rf"https?://\S+{path}\S*", text)
            assert found, text
            return found.group(0)
    raise AssertionError(f"no mail to {to}")


def test_sign_up_verify_sign_out_reset_and_sign_in_in_chromium(
    mail: StandInSendGrid, live: LiveServer, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{live.http_url}/login")
        page.click("text=Create an account")
        page.fill("input[name=name]", "Ada Lovelace")
        page.fill("input[name=email]", "ada@example.com")
        page.fill("input[name=password]", "correct horse battery")
        page.screenshot(path=str(SCREENSHOTS / "sign-up.png"), full_page=True)
        page.click("button:has-text('Create account')")
        assert "We sent a link to ada@example.com" in page.inner_text("main")
        verify = _link(mail, "ada@example.com", "/verify/")
        page.goto(verify)
        page.click("button:has-text('Confirm and sign in')")
        page.wait_for_url(f"{live.http_url}/onboarding")
        assert "Ada Lovelace (owner)" in page.inner_text("header")
        page.goto(verify)  # a used link says so
        assert "already used" in page.inner_text("main")

        page.goto(f"{live.http_url}/")
        page.click("button:has-text('Sign out')")
        page.goto(f"{live.http_url}/reset")
        page.fill("input[name=email]", "ada@example.com")
        page.click("button:has-text('Send a reset link')")
        reset = _link(mail, "ada@example.com", "/reset/")
        page.goto(reset)
        page.fill("input[name=password]", "a new long password")
        page.click("button:has-text('Set password and sign in')")
        page.wait_for_url(f"{live.http_url}/")
        assert "Ada Lovelace" in page.inner_text("header")
        page.click("button:has-text('Sign out')")

        page.goto(f"{live.http_url}/login")
        page.fill("form.password input[name=email]", "ada@example.com")
        page.fill("form.password input[name=password]", "correct horse battery")  # the old one
        page.click("form.password button")
        assert "Wrong e-mail or password" in page.inner_text("main")
        page.fill("form.password input[name=email]", "ada@example.com")
        page.fill("form.password input[name=password]", "a new long password")
        page.click("form.password button")
        page.wait_for_url(f"{live.http_url}/")
        page.screenshot(path=str(SCREENSHOTS / "signed-in-with-password.png"), full_page=True)
    finally:
        context.close()


def _post(live: LiveServer, path: str, **form: str) -> httpx.Response:
    return httpx.post(f"{live.http_url}{path}", data=form, timeout=30)


def test_nothing_tells_whether_an_address_has_an_account(mail: StandInSendGrid, live: LiveServer) -> None:
    _post(live, "/signup", email="known@example.com", password="long enough pass", name="Known")
    httpx.post(f"{live.http_url}/verify/{_link(mail, 'known@example.com', '/verify/').rsplit('/', 1)[1]}", timeout=30)
    for path, form in (
        ("/signup", {"password": "long enough pass", "name": "X"}),
        ("/reset", {}),
    ):
        answers = [
            _post(live, path, email=address, **form) for address in ("known@example.com", "stranger@example.com")
        ]
        assert answers[0].status_code == answers[1].status_code == 200
        strip = [a.text.replace("known@", "@").replace("stranger@", "@") for a in answers]
        assert strip[0] == strip[1], path
    # the mail says what applies: the owner of the address learns it, nobody else
    to_known = [
        m.json["subject"]
        for m in mail.messages
        if m.json["personalizations"][0]["to"][0]["email"] == "known@example.com"
    ]
    assert "You already have an llmobserve account" in to_known


def test_password_guessing_is_limited_per_account_and_links_fail_clearly(live: LiveServer) -> None:
    codes = [
        _post(live, "/login/password", email="victim@example.com", password=f"guess-{i}").status_code for i in range(12)
    ]
    assert codes[0] == 401 and codes.count(401) <= 10 and codes[-2:] == [429, 429]
    assert httpx.get(f"{live.http_url}/verify/forged", timeout=30).status_code == 404
    assert "not valid" in httpx.get(f"{live.http_url}/reset/forged", timeout=30).text
    short = _post(live, "/signup", email="s@example.com", password="short", name="S")
    assert short.status_code == 400 and "at least 10 characters" in short.text


def test_an_invitation_is_e_mailed_and_its_link_lets_the_invitee_sign_up(
    mail: StandInSendGrid, live: LiveServer
) -> None:
    store = ControlStore.open(default_url(live.data_dir))
    try:
        _, token = store.people.invite("mailed-team", "lead@example.com", "owner", ("cli", "test"))
        lead = store.people.sign_in_oidc("https://idp.mail", "lead", "t", None, "Lead", "off", token)
        session = SessionStore(store).create_person(lead.user_id, "mailed-team")
    finally:
        store.close()
    made = httpx.post(
        f"{live.http_url}/api/v1/invitations",
        json={"email": "invitee@example.com", "role": "viewer"},
        cookies={"llmo_session": session.id},
        headers={"x-csrf-token": session.csrf},
        timeout=30,
    )
    assert made.status_code == 201 and made.json()["emailed"] is True
    link = _link(mail, "invitee@example.com", "/invite/")
    assert link == made.json()["url"]
    # an invited address may sign up although nobody else could (the link carries the invitation)
    token = link.rsplit("/", 1)[1]
    form = httpx.get(f"{live.http_url}/signup", params={"invitation": token}, timeout=30)
    assert f'name="invitation" value="{token}"' in form.text
    _post(live, "/signup", email="invitee@example.com", password="long enough pass", name="Vi", invitation=token)
    verify = _link(mail, "invitee@example.com", "/verify/")
    joined = httpx.post(verify, timeout=30, follow_redirects=False)
    assert joined.status_code == 303 and joined.headers["location"] == "/"  # invited: no onboarding
    members = httpx.get(f"{live.http_url}/api/v1/members", cookies={"llmo_session": session.id}, timeout=30).json()[
        "data"
    ]
    assert {m["name"]: m["role"] for m in members} == {"Lead": "owner", "Vi": "viewer"}
