"""Sign-in with an OpenID Connect provider, end to end: a live server, the stand-in provider on
127.0.0.1, the redirects followed as a browser would (httpx, one cookie jar). Every forged, stale or
tampered answer is refused and creates nothing."""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from llmobserve.control import ControlStore, default_url
from llmobserve.control._people_schema import IDENTITIES, USERS
from llmobserve.control._schema import WORKSPACES
from llmobserve.query_api.services.oidc import OidcClient, OidcError, OidcProvider
from tests.conftest import LiveServer
from tests.dashboard.conftest import SCREENSHOTS
from tests.standin.oidc import StandInOIDC


@pytest.fixture(scope="module")
def idp() -> Iterator[StandInOIDC]:
    with StandInOIDC() as provider:
        yield provider


@pytest.fixture(scope="module")
def live(idp: StandInOIDC, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(
        tmp_path_factory.mktemp("oidc") / "data",
        env={
            "LLMOBSERVE_SIGNUP": "open",
            "LLMOBSERVE_OIDC_STANDIN_ISSUER": idp.issuer,
            "LLMOBSERVE_OIDC_STANDIN_CLIENT_ID": idp.client_id,
            "LLMOBSERVE_OIDC_STANDIN_CLIENT_SECRET": idp.client_secret,
            "LLMOBSERVE_OIDC_STANDIN_LABEL": "Stand-in IdP",
        },
    ).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh(idp: StandInOIDC) -> None:
    idp.reset()


def _counts(live: LiveServer) -> tuple[int, int, int]:
    store = ControlStore.open(default_url(live.data_dir))
    try:
        with store.engine.connect() as conn:
            return tuple(  # type: ignore[return-value]  # three counts
                int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in (USERS, IDENTITIES, WORKSPACES)
            )
    finally:
        store.close()


def _authorize(browser: httpx.Client, live: LiveServer, path: str = "/login/oidc/standin") -> httpx.Response:
    """Start a sign-in and let the provider answer: its redirect back to us, not yet followed."""
    start = browser.get(f"{live.http_url}{path}")
    assert start.status_code == 303, start.text
    at_idp = browser.get(start.headers["location"])
    assert at_idp.status_code == 302, at_idp.text
    return at_idp


def _sign_in(browser: httpx.Client, live: LiveServer) -> httpx.Response:
    back = _authorize(browser, live)
    return browser.get(back.headers["location"])


def _signed_in_page(browser: httpx.Client, live: LiveServer) -> httpx.Response:
    return browser.get(f"{live.http_url}/caps")


def test_a_new_person_signs_up_and_in_through_the_provider(idp: StandInOIDC, live: LiveServer) -> None:
    idp.set_user("new-person", "grace@example.com", name="Grace Hopper")
    before = _counts(live)
    with httpx.Client(timeout=30) as browser:
        login = browser.get(f"{live.http_url}/login")
        assert "Continue with Stand-in IdP" in login.text
        done = _sign_in(browser, live)
        assert done.status_code == 303, done.text
        page = _signed_in_page(browser, live)
        assert page.status_code == 200 and "Grace Hopper" in page.text
        # and again: the same person, no second user or workspace
        assert _sign_in(browser, live).status_code == 303
    after = _counts(live)
    assert after == (before[0] + 1, before[1] + 1, before[2] + 1)
    (params,) = idp.authorize_url_params()[:1]
    assert params["code_challenge_method"] == "S256" and params["nonce"] and params["state"]


@pytest.mark.parametrize(
    "tamper",
    ["nonce", "expired", "audience", "issuer", "unknown_kid", "signature", "alg_none", "hs256_public_key", "azp"],
)
def test_a_tampered_id_token_is_refused_and_creates_nothing(idp: StandInOIDC, live: LiveServer, tamper: str) -> None:
    idp.set_user(f"victim-{tamper}", f"{tamper}@example.com")
    idp.tamper_next(tamper)
    before = _counts(live)
    with httpx.Client(timeout=30) as browser:
        refused = _sign_in(browser, live)
        assert refused.status_code == 401, (tamper, refused.status_code)
        assert "Sign-in refused" in refused.text
        assert _signed_in_page(browser, live).status_code == 303  # still signed out
    assert _counts(live) == before


def test_a_wrong_state_and_another_browsers_flow_are_refused(idp: StandInOIDC, live: LiveServer) -> None:
    before = _counts(live)
    with httpx.Client(timeout=30) as browser, httpx.Client(timeout=30) as other:
        back = _authorize(browser, live)
        url = urlsplit(back.headers["location"])
        query = parse_qs(url.query)
        forged = f"{live.http_url}{url.path}?code={query['code'][0]}&state={secrets.token_urlsafe(32)}"
        assert browser.get(forged).status_code == 400
        # the right state, but in a browser that did not start the flow (login CSRF)
        back = _authorize(browser, live)
        assert other.get(back.headers["location"]).status_code == 400
    assert _counts(live) == before


def test_a_replayed_callback_and_a_replayed_code_are_refused(idp: StandInOIDC, live: LiveServer) -> None:
    idp.set_user("replayer", "r@example.com")
    with httpx.Client(timeout=30) as browser:
        back = _authorize(browser, live)
        assert browser.get(back.headers["location"]).status_code == 303
        assert browser.get(back.headers["location"]).status_code == 400  # the flow was used
    before = _counts(live)
    with httpx.Client(timeout=30) as browser:
        old_code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
        fresh = urlsplit(_authorize(browser, live).headers["location"])
        state = parse_qs(fresh.query)["state"][0]
        replay = browser.get(f"{live.http_url}{fresh.path}?code={old_code}&state={state}")
        assert replay.status_code == 401 and "refused the sign-in code" in replay.text
    assert _counts(live) == before


def test_the_first_owner_link_printed_at_start_claims_the_default_workspace(idp: StandInOIDC, live: LiveServer) -> None:
    link = next(line for line in live.output if "/invite/" in line).split()[3]
    token = link.rsplit("/", 1)[1]
    idp.set_user("first-owner", "owner@example.com", name="First Owner")
    with httpx.Client(timeout=30) as browser:
        page = browser.get(link)
        assert (
            page.status_code == 200
            and "<strong>default</strong>" in page.text
            and "<strong>owner</strong>" in page.text
        )
        back = _authorize(browser, live, f"/login/oidc/standin?invitation={token}")
        assert browser.get(back.headers["location"]).status_code == 303
        assert "First Owner" in _signed_in_page(browser, live).text
    assert httpx.get(link).status_code == 410  # used


def _token_with_kid(kid: str) -> str:
    def segment(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{segment({'alg': 'RS256', 'kid': kid})}.{segment({'sub': 'x'})}.c2ln"


def test_a_thousand_unknown_kids_fetch_the_keys_at_most_once_per_30_s(idp: StandInOIDC) -> None:
    now = [1000.0]
    client = OidcClient(OidcProvider("standin", idp.issuer, idp.client_id, idp.client_secret), clock=lambda: now[0])
    try:
        for _ in range(1000):
            with pytest.raises(OidcError, match="does not publish"):
                client.verify(_token_with_kid(secrets.token_hex(8)), "nonce")
        assert idp.jwks_fetches == 1
        now[0] += 30
        with pytest.raises(OidcError):
            client.verify(_token_with_kid(secrets.token_hex(8)), "nonce")
        assert idp.jwks_fetches == 2
    finally:
        client.close()


def test_chromium_signs_up_through_the_providers_redirects_and_switches_workspace(
    idp: StandInOIDC, live: LiveServer, browser: Any
) -> None:
    """The real redirect flow in a browser: our page, the provider's authorize (auto-consent), our
    callback; then the person joins a second workspace by invitation and switches to it."""
    idp.set_user("browser-person", "linus@example.com", name="Linus Browser")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{live.http_url}/login")
        page.screenshot(path=str(SCREENSHOTS / "sign-in-providers.png"), full_page=True)
        page.click("text=Continue with Stand-in IdP")
        page.wait_for_url(f"{live.http_url}/onboarding")
        assert "Linus Browser (owner)" in page.inner_text("header")
        page.fill("input[name=name]", "Linus's lab")
        page.screenshot(path=str(SCREENSHOTS / "onboarding.png"), full_page=True)
        page.click("button:has-text('Save and create the key')")
        page.wait_for_url(f"{live.http_url}/")
        assert "Your ingest key: llmo_" in page.inner_text("[role=status]")
        assert "Getting started" in page.inner_text("main")
        store = ControlStore.open(default_url(live.data_dir))
        try:
            _, token = store.people.invite("team-b", "linus@example.com", "viewer", ("cli", "test"))
        finally:
            store.close()
        page.goto(f"{live.http_url}/invite/{token}")
        page.screenshot(path=str(SCREENSHOTS / "sign-in-invitation.png"), full_page=True)
        page.click("text=Continue with Stand-in IdP")
        page.wait_for_url(f"{live.http_url}/**")
        assert "(viewer)" in page.inner_text("header") and "team-b" in page.inner_text("header")
        page.select_option("#workspace-switch", index=0)
        page.click("form.switcher button")
        page.wait_for_url(f"{live.http_url}/")
        assert "Linus Browser (owner)" in page.inner_text("header")
        page.screenshot(path=str(SCREENSHOTS / "workspace-switcher.png"), full_page=True)
    finally:
        context.close()


def test_a_signed_out_page_returns_there_after_signing_in(idp: StandInOIDC, live: LiveServer) -> None:
    idp.set_user("returning", "ret@example.com", name="Returning Person")
    with httpx.Client(timeout=30) as browser:
        assert _sign_in(browser, live).headers["location"] == "/onboarding"  # first time: onboarding
        browser.cookies.clear()  # the session expired
        asked = browser.get(f"{live.http_url}/costs?days=7")
        assert asked.status_code == 303 and asked.headers["location"] == "/login?next=/costs?days=7"
        login = browser.get(f"{live.http_url}{asked.headers['location']}")
        button = re.search(r'href="(/login/oidc/standin\?[^"]+)"', login.text)
        assert button is not None
        back = _authorize(browser, live, button.group(1).replace("&amp;", "&"))
        done = browser.get(back.headers["location"])
        assert done.status_code == 303 and done.headers["location"] == "/costs?days=7"
