"""The dashboard's front door and first page: sign-in with a key into a server-side session
(HttpOnly, SameSite=Strict cookie; the key never reaches the browser), sign-out, revocation,
the overview's figures equal to the API's, and Getting started until the first span arrives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from tests.conftest import run_cli
from tests.dashboard.conftest import Dash, sign_in


def _shown(page: Any, selector: str) -> Decimal:
    return Decimal(page.locator(f"{selector} [data-usd]").first.get_attribute("data-usd"))


def test_sign_in_keeps_the_key_on_the_server(dash: Dash, browser: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(dash.url + "/runs")
    assert page.url.startswith(dash.url + "/login")  # signed out: every page leads to the form
    page.fill("input[name=key]", "llmo_000000000000_not-a-key")
    page.click("form[action='/login'] button[type=submit]")
    assert "not valid" in page.inner_text(".banner.error")
    dash.page = page
    dash.shot("login-error")

    ingest_only = dash.server.create_key("dash", "ingest")
    sign_in(page, dash.url, ingest_only)
    assert "cannot read" in page.inner_text(".banner.error")

    sign_in(page, dash.url, dash.reader)
    assert page.url == dash.url + "/"
    [cookie] = context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == ("llmo_session", True, "Strict")
    assert dash.reader not in cookie["value"] and dash.reader not in page.content()
    assert page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie") == "{}{}"

    page.click("form.signout button")
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(dash.url + "/login") and context.cookies() == []
    stolen = httpx.get(dash.url + "/", cookies={"llmo_session": cookie["value"]}, follow_redirects=False)
    assert stolen.status_code == 303 and stolen.headers["location"].startswith("/login")  # the session is gone
    context.close()


def test_revoking_the_key_ends_its_sessions(dash: Dash, browser: Any) -> None:
    key = dash.server.create_key("dash", "read")
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, dash.url, key)
    assert page.url == dash.url + "/"
    key_id = key.split("_")[1]
    revoked = httpx.delete(f"{dash.url}/api/v1/keys/{key_id}", headers={"authorization": f"Bearer {dash.admin}"})
    assert revoked.status_code == 204, revoked.text
    page.goto(dash.url + "/")
    assert page.url.startswith(dash.url + "/login")
    context.close()


def test_overview_shows_the_apis_figures(dash: Dash) -> None:
    page = dash.open("/")
    summary = dash.api("/api/v1/costs/summary")
    assert float(_shown(page, "#kpi-24h")) == summary["last_24h"]["cost_usd"]
    assert float(_shown(page, "#kpi-7d")) == summary["last_7d"]["cost_usd"]
    now = datetime.now(UTC)
    month = dash.api(
        "/api/v1/costs/breakdown",
        group_by="provider",
        **{
            "from": now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).isoformat(),
            "to": (now + timedelta(minutes=1)).isoformat(),
        },
    )
    assert float(_shown(page, "#kpi-month")) == month["total_cost_usd"]
    for dim in ("model", "agent", "customer"):
        rows = page.locator(f"#top-{dim} tr")
        shown = [
            (rows.nth(i).locator("a").inner_text(), float(rows.nth(i).locator("[data-usd]").get_attribute("data-usd")))
            for i in range(rows.count())
        ]
        expected = [(r["key"], r["cost_usd"]) for r in summary["top"][dim] if r["key"] != "untracked"]
        assert shown == expected[: len(shown)] and len(shown) == min(5, len(expected)), dim
    assert page.locator("#daily canvas").count() == 1  # the chart was drawn
    share = page.inner_text("#kpi-untracked .value")
    assert share == f"{summary['untracked_share_pct']:.1f}%"
    assert page.inner_text("#tz")  # the browser's zone is named in the page
    dash.shot("overview")


def test_getting_started_waits_for_the_first_span(dash: Dash, browser: Any) -> None:
    key = dash.server.create_key("dash-newcomer", "admin")
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, dash.url, key)
    assert page.locator("[data-wait-for-spans]").count() == 1
    assert "pip install llmobserve" in page.content() and "llmobserve.observe()" in page.content()
    dash.page = page
    dash.shot("getting-started")
    done = run_cli("demo", "--endpoint", dash.server.grpc_target, "--api-key", key, "--runs", "2")
    assert done.returncode == 0, done.stderr
    page.wait_for_selector("#kpi-24h", timeout=15_000)  # it reloaded into the overview by itself
    context.close()


def test_an_unknown_page_is_a_page(dash: Dash) -> None:
    response = dash.page.goto(dash.url + "/no-such-page")
    assert response.status == 404 and "Not found" in dash.page.inner_text("h1")
    dash.shot("not-found")
