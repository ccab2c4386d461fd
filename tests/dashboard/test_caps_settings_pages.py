"""The pages with forms: Caps & alerts and Settings. Their figures equal the API's, each form write
shows up in the API, invalid input answers 422 and changes nothing, and no forged, cross-session,
cross-site or replayed form changes anything."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.conftest import KEY_RE
from tests.dashboard.conftest import Dash, open_session, sign_in
from tests.otlp_helpers import chat_attrs, http_export, request, span


def _api(dash: Dash, method: str, path: str, key: str | None = None, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, dash.url + path, headers={"authorization": f"Bearer {key or dash.admin}"}, timeout=30, **kwargs
    )


def _caps(dash: Dash) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in dash.api("/api/v1/caps")["data"]}


def _csrf(page: Any) -> str:
    return str(page.locator("input[name=csrf]").first.get_attribute("value"))


def _submit(page: Any, button: str) -> Any:
    """Click a form's button as a user would; the answer to its POST (before any redirect is followed)."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click(button)
    page.wait_for_load_state("networkidle")
    return answer.value


@pytest.fixture
def caps(dash: Dash) -> Iterator[list[str]]:
    """Cap ids to delete after the test: the tenant is shared with the other page tests."""
    made: list[str] = []
    yield made
    for cap_id in made:
        _api(dash, "DELETE", f"/api/v1/caps/{cap_id}")


def _make_cap(dash: Dash, made: list[str], **body: Any) -> str:
    created = _api(dash, "POST", "/api/v1/caps", json=body)
    assert created.status_code == 201, created.text
    made.append(created.json()["id"])
    return str(created.json()["id"])


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    """A webhook receiver that accepts every alert."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_caps_page_shows_the_apis_status(dash: Dash, caps: list[str], webhook: str) -> None:
    _make_cap(dash, caps, name="Everything, ever", scope="global", period="total", limit_usd="100000")
    spent = Decimal(dash.api("/api/v1/caps/status")["caps"][0]["spend_usd"])
    assert spent > 0
    _make_cap(
        dash,
        caps,
        name="Nearly there",
        scope="global",
        period="total",
        enforcement="hard_block",
        limit_usd=str((spent / Decimal("0.9")).quantize(Decimal("0.000001"))),
    )
    _make_cap(dash, caps, name="Tiny", scope="global", period="total", limit_usd="0.000001")
    _make_cap(dash, caps, name="Per customer", scope="each_customer", period="total", limit_usd="0.01")
    _make_cap(
        dash,
        caps,
        name="OpenAI this month",
        scope="provider",
        value="openai",
        period="monthly",
        time_zone="Europe/Paris",
        limit_usd="50",
        enabled=False,
    )
    page = dash.open("/caps")
    status = {c["id"]: c for c in dash.api("/api/v1/caps/status")["caps"]}
    assert {s["state"] for i, s in status.items() if i in caps} == {"ok", "warning", "exceeded", "disabled"}
    for cap_id in caps:
        row, expected = page.locator(f"#cap-{cap_id}"), status[cap_id]
        assert Decimal(row.locator(".spend [data-usd]").get_attribute("data-usd")) == Decimal(expected["spend_usd"])
        assert Decimal(row.locator(".limit [data-usd]").get_attribute("data-usd")) == Decimal(expected["limit_usd"])
        assert float(row.locator(".percent").get_attribute("data-percent")) == expected["percent"]
        assert row.get_attribute("data-state") == expected["state"]
        assert f"bar {expected['state']}" in row.locator(".bar").get_attribute("class")
    shown = page.locator(f"#cap-{caps[3]} + tr.customers tr[data-customer]")
    customers = status[caps[3]]["customers"]
    assert shown.count() == len(customers) > 0
    assert [Decimal(shown.nth(i).locator("[data-usd]").get_attribute("data-usd")) for i in range(shown.count())] == [
        Decimal(c["spend_usd"]) for c in customers
    ]
    assert page.locator(f"#cap-{caps[0]} time").count() == 0 and "never (total)" in page.inner_text(f"#cap-{caps[0]}")
    assert page.locator(f"#cap-{caps[4]} time").count() == 1  # the next reset of a monthly cap
    dash.shot("caps")

    deadline = time.monotonic() + 20  # the cap monitor fires the exceeded caps' alerts in the background
    while True:
        alerts = dash.api("/api/v1/alerts", limit=50)["data"]
        page = dash.open("/caps")
        rows = page.locator("#alerts tr[data-alert]")
        shown = [
            (
                rows.nth(i).get_attribute("data-alert"),
                Decimal(rows.nth(i).locator(".spend [data-usd]").get_attribute("data-usd")),
            )
            for i in range(rows.count())
        ]
        if alerts and shown == [(a["id"], Decimal(a["spend_usd"])) for a in alerts]:
            break
        assert time.monotonic() < deadline, (shown, alerts)
        time.sleep(0.5)
    dash.shot("caps-with-alerts")

    told = _make_cap(
        dash, caps, name="Told", scope="global", limit_usd="100000", recipients=["ops@example.com"], webhooks=[webhook]
    )
    sent = _api(dash, "POST", f"/api/v1/caps/{told}/test")
    assert sent.status_code == 202, sent.text  # queued: the outcome is read from the alert history
    deadline = time.monotonic() + 20
    while not next(a for a in dash.api("/api/v1/alerts", limit=50)["data"] if a["id"] == sent.json()["alert"]["id"])[
        "delivered"
    ]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    page = dash.open("/caps")
    row = page.locator(f"#alerts tr[data-alert='{sent.json()['alert']['id']}']")
    assert "test" in row.inner_text()
    assert row.locator(".tag.delivery.err").inner_text() == "email ops@example.com: failed"
    assert "SENDGRID_API_KEY" in row.locator(".delivery-error").inner_text()
    assert row.locator(".tag.delivery:not(.err)").inner_text() == f"webhook {webhook}: ok"
    dash.shot("caps-alert-deliveries")


def test_cap_form_creates_edits_refuses_and_deletes(dash: Dash, caps: list[str]) -> None:
    page = dash.open("/caps/new")
    dash.shot("cap-form-new")
    page.fill("input[name=name]", "Form-made cap")
    page.select_option("select[name=scope]", "model")
    page.fill("input[name=value]", "gpt-4o-mini")
    page.fill("input[name=limit_usd]", "12.50")
    page.select_option("select[name=period]", "weekly")
    page.fill("input[name=time_zone]", "Europe/Paris")
    page.fill("input[name=thresholds]", "0.5, 0.9")
    page.fill("input[name=recipients]", "ops@example.com")
    assert _submit(page, "#cap-form button[type=submit]").status == 303
    assert page.url == dash.url + "/caps" and "Form-made cap created" in page.inner_text(".banner.ok")
    [(cap_id, cap)] = [(i, c) for i, c in _caps(dash).items() if c["name"] == "Form-made cap"]
    caps.append(cap_id)
    assert (
        cap["scope"],
        cap["value"],
        cap["period"],
        cap["time_zone"],
        cap["limit_usd"],
        cap["thresholds"],
        cap["recipients"],
        cap["enforcement"],
        cap["enabled"],
    ) == (
        "model",
        "gpt-4o-mini",
        "weekly",
        "Europe/Paris",
        "12.5",
        ["0.5", "0.9"],
        ["ops@example.com"],
        "alert_only",
        True,
    )

    page = dash.open(f"/caps/{cap_id}/edit")
    assert page.input_value("input[name=limit_usd]") == "12.5"
    page.fill("input[name=limit_usd]", "20")
    page.select_option("select[name=enforcement]", "hard_block")
    _submit(page, "#cap-form button[type=submit]")
    assert (_caps(dash)[cap_id]["limit_usd"], _caps(dash)[cap_id]["enforcement"]) == ("20", "hard_block")

    page = dash.open(f"/caps/{cap_id}/edit")
    page.fill("input[name=limit_usd]", "-5")
    page.fill("input[name=recipients]", "not-an-email")
    assert _submit(page, "#cap-form button[type=submit]").status == 422
    assert "amount in USD" in page.inner_text("#error-limit_usd")
    assert "not an email address" in page.inner_text("#error-recipients")
    assert page.input_value("input[name=limit_usd]") == "-5"  # kept, to fix in place
    dash.shot("cap-form-error")
    assert _caps(dash)[cap_id]["limit_usd"] == "20"

    page.fill("input[name=value]", "")  # a model cap without its model: the API's model-level rule
    page.fill("input[name=limit_usd]", "20")
    page.fill("input[name=recipients]", "")
    assert _submit(page, "#cap-form button[type=submit]").status == 422
    assert "needs a 'value'" in page.inner_text("#error-value")

    page = dash.open("/caps")
    page.click(f"#cap-{cap_id} details summary")
    _submit(page, f"#cap-{cap_id} button.danger")
    assert cap_id not in _caps(dash) and "deleted" in page.inner_text(".banner.ok")

    missing = dash.open(f"/caps/{cap_id}/edit")
    assert "Not found" in missing.inner_text("h1")
    assert dash.page.request.get(f"{dash.url}/caps/cap_0123456789abcdef/edit").status == 404


def test_forged_and_replayed_forms_change_nothing(dash: Dash, browser: Any, caps: list[str]) -> None:
    cap_id = _make_cap(dash, caps, name="Guarded", scope="global", limit_usd="10")
    page = dash.open("/caps")
    token = _csrf(page)
    other = browser.new_context()
    sign_in(other.new_page(), dash.url, dash.admin)
    other_page = other.pages[0]
    other_page.goto(dash.url + "/caps")
    other_token = _csrf(other_page)
    assert other_token != token
    before = _caps(dash)
    create = {
        "name": "Forged",
        "scope": "global",
        "period": "monthly",
        "time_zone": "UTC",
        "limit_usd": "1",
        "thresholds": "1",
        "enforcement": "hard_block",
        "enabled": "on",
    }
    forged = [
        ({}, {}),
        ({"csrf": "wrong"}, {}),
        ({"csrf": other_token}, {}),
        ({"csrf": token}, {"Origin": "http://evil.example"}),
        ({"csrf": token}, {"Referer": "http://evil.example/caps"}),
    ]
    for fields, headers in forged:
        for path, form in [
            ("/caps/new", create),
            (f"/caps/{cap_id}/edit", {**create, "limit_usd": "0.5"}),
            (f"/caps/{cap_id}/delete", {}),
            ("/settings/keys", {"name": "forged", "scope_admin": "on"}),
        ]:
            answer = page.request.post(dash.url + path, form={**form, **fields}, headers=headers, max_redirects=0)
            assert answer.status == 403, (path, fields, headers)
            assert "stale or was not sent from this dashboard" in answer.text()
    assert _caps(dash) == before
    assert all(k["name"] != "forged" for k in dash.api("/api/v1/keys")["data"])
    control = page.request.post(
        dash.url + "/caps/new", form={**create, "name": "Control", "csrf": token}, max_redirects=0
    )
    assert control.status == 303  # the same form with this session's token, from this site, is accepted
    made = set(_caps(dash)) - set(before)
    caps.extend(made)
    assert [_caps(dash)[i]["name"] for i in made] == ["Control"]
    before = _caps(dash)

    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "llmo_session")
    assert page.request.post(dash.url + "/logout", form={"csrf": token}, max_redirects=0).status == 303
    for path, form in [(f"/caps/{cap_id}/delete", {}), ("/caps/new", create)]:
        replay = httpx.post(dash.url + path, data={**form, "csrf": token}, cookies={"llmo_session": cookie})
        assert replay.status_code == 303 and replay.headers["location"].startswith("/login")
    assert _caps(dash) == before
    other.close()


def test_new_key_is_shown_once_and_revoking_it_works(dash: Dash) -> None:
    page = dash.open("/settings")
    page.fill("#key-form input[name=name]", "dashboard-made")
    page.uncheck("#key-form input[name=scope_ingest]")
    _submit(page, "#key-form button[type=submit]")
    notice = page.inner_text(".banner.ok")
    key = KEY_RE.search(notice)
    assert key is not None and "shown only this once" in notice
    dash.shot("settings-key-created")
    assert _api(dash, "GET", "/api/v1/costs/summary", key=key.group(0)).status_code == 200
    key_id = key.group(0).split("_")[1]
    [listed] = [k for k in dash.api("/api/v1/keys")["data"] if k["key_id"] == key_id]
    assert (listed["name"], listed["scopes"], listed["revoked"]) == ("dashboard-made", ["read"], False)
    page.reload()
    assert key.group(0) not in page.content() and page.locator(".banner.ok").count() == 0
    assert page.locator(f"tr[data-key='{key_id}'] code").inner_text().startswith(f"llmo_{key_id}_")

    for scope in ("ingest", "read", "admin"):
        page.uncheck(f"#key-form input[name=scope_{scope}]")
    assert _submit(page, "#key-form button[type=submit]").status == 422
    assert "at least one scope" in page.inner_text("#error-scopes")

    page.goto(dash.url + "/settings")
    page.click(f"tr[data-key='{key_id}'] details summary")
    _submit(page, f"tr[data-key='{key_id}'] button.danger")
    assert "revoked" in page.inner_text(".banner.ok")
    assert next(k for k in dash.api("/api/v1/keys")["data"] if k["key_id"] == key_id)["revoked"] is True
    assert _api(dash, "GET", "/api/v1/costs/summary", key=key.group(0)).status_code == 401


def test_custom_prices_and_unpriced_models(dash: Dash, browser: Any) -> None:
    tenant = f"dash-prices-{time.monotonic_ns()}"
    admin = dash.server.create_key(tenant, "admin")
    body = request(
        span(attrs=chat_attrs("acme", "rocket-1", 1000, 100)),
        span(attrs=chat_attrs("openai", "gpt-4o-mini", 1000, 100)),
    ).SerializeToString()
    assert http_export(dash.url, admin, body).status_code == 200
    deadline = time.monotonic() + 20
    while not (unpriced := _api(dash, "GET", "/api/v1/pricing/unpriced", key=admin).json())["models"]:
        assert time.monotonic() < deadline, "the unpriced span never showed up"
        time.sleep(0.2)
    page = open_session(browser, dash.url, admin)
    # The overview says calls went unpriced, as many as the API counts, and links to them.
    banner = page.locator("#unpriced-banner")
    assert banner.locator("[data-num]").get_attribute("data-num") == str(unpriced["models"][0]["calls"]) == "1"
    banner.locator("a").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/settings#unpriced")
    rows = page.locator("#unpriced tr[data-unpriced]")
    assert (
        [rows.nth(i).get_attribute("data-unpriced") for i in range(rows.count())]
        == [f"{m['provider']}/{m['model']}" for m in unpriced["models"]]
        == ["acme/rocket-1"]
    )
    assert page.locator("#prices .empty").count() == 1
    dash.page = page
    dash.shot("settings")

    page.click("tr[data-unpriced='acme/rocket-1'] a")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/settings?provider=acme&model=rocket-1#add-price")
    assert (
        page.input_value("#price-form input[name=provider]"),
        page.input_value("#price-form input[name=model]"),
    ) == ("acme", "rocket-1")
    page.fill("#price-form input[name=input_per_mtok]", "-1")
    page.fill("#price-form input[name=output_per_mtok]", "abc")
    assert _submit(page, "#price-form button[type=submit]").status == 422
    assert "greater than or equal to 0" in page.inner_text("#error-input_per_mtok")
    assert "Enter a number" in page.inner_text("#error-output_per_mtok")
    dash.shot("settings-price-error")
    assert _api(dash, "GET", "/api/v1/pricing/models", key=admin).json()["count"] == 0

    page.fill("#price-form input[name=input_per_mtok]", "1.5")
    page.fill("#price-form input[name=output_per_mtok]", "6")
    page.fill("#price-form input[name=effective_from]", "2025-01-01")
    assert _submit(page, "#price-form button[type=submit]").status == 303
    [price] = _api(dash, "GET", "/api/v1/pricing/models", key=admin).json()["data"]
    assert (
        price["provider"],
        price["model"],
        price["input_per_mtok"],
        price["output_per_mtok"],
        price["effective_from"][:10],
    ) == ("acme", "rocket-1", 1.5, 6.0, "2025-01-01")
    row = page.locator(f"tr[data-price='{price['id']}']")
    assert [Decimal(row.locator("[data-usd]").nth(i).get_attribute("data-usd")) for i in range(2)] == [
        Decimal("1.5"),
        Decimal("6"),
    ]
    dash.shot("settings-with-price")
    _submit(page, f"tr[data-price='{price['id']}'] button.danger")
    assert _api(dash, "GET", "/api/v1/pricing/models", key=admin).json()["count"] == 0
    assert page.locator("#prices .empty").count() == 1
    page.context.close()


def test_read_only_session_sees_forms_disabled_and_cannot_post(dash: Dash, browser: Any, caps: list[str]) -> None:
    cap_id = _make_cap(dash, caps, name="Reader can see", scope="global", limit_usd="10")
    page = open_session(browser, dash.url, dash.reader)
    dash.page = page
    page.goto(dash.url + "/caps")
    assert "read-only key" in page.inner_text(".banner.warn")
    assert page.locator(f"#cap-{cap_id}").count() == 1 and page.locator("a[href='/caps/new']").count() == 0
    assert page.locator("form[action$='/delete']").count() == 0
    dash.shot("caps-read-only")
    page.goto(dash.url + "/caps/new")
    assert page.locator("#cap-form fieldset[disabled]").count() == 1
    page.goto(dash.url + "/settings")
    assert page.locator("#key-form fieldset[disabled]").count() == 1
    assert page.locator("#price-form fieldset[disabled]").count() == 1
    assert "shown to admin keys only" in page.inner_text("#keys")
    dash.shot("settings-read-only")
    token = _csrf(page)
    before, keys_before = _caps(dash), dash.api("/api/v1/keys")["count"]
    for path, form in [
        ("/caps/new", {"scope": "global", "limit_usd": "1", "thresholds": "1"}),
        (f"/caps/{cap_id}/edit", {"scope": "global", "limit_usd": "1", "thresholds": "1"}),
        (f"/caps/{cap_id}/delete", {}),
        ("/settings/keys", {"name": "x", "scope_admin": "on"}),
        ("/settings/prices", {"model": "m", "input_per_mtok": "1", "output_per_mtok": "1"}),
    ]:
        answer = page.request.post(dash.url + path, form={**form, "csrf": token}, max_redirects=0)
        assert answer.status == 403 and "read-only" in answer.text(), path
    assert _caps(dash) == before and dash.api("/api/v1/keys")["count"] == keys_before
    page.context.close()


def test_empty_states_of_a_fresh_tenant(dash: Dash, browser: Any) -> None:
    key = dash.server.create_key(f"dash-empty-caps-{time.monotonic_ns()}", "admin")
    page = open_session(browser, dash.url, key)
    dash.page = page
    page.goto(dash.url + "/caps")
    assert "No spending caps yet" in page.inner_text("#caps .empty")
    assert "No alerts yet" in page.inner_text("#alerts .empty")
    dash.shot("caps-empty")
    page.goto(dash.url + "/settings")
    assert "No custom prices" in page.inner_text("#prices .empty")
    assert "Every model seen" in page.inner_text("#unpriced .empty")
    [mine] = [page.locator("#keys tr[data-key]").nth(0).inner_text()]
    assert "this session" in mine and re.search(r"llmo_[0-9a-f]{12}_", mine)
    dash.shot("settings-empty")
    page.context.close()


def test_duplicate_reports_are_counted_and_detection_is_switched_on_settings(dash: Dash, browser: Any) -> None:
    from tests.e2e.test_duplicates_e2e import RECORDED, _request, _shifted
    from tests.otlp_helpers import grpc_export

    tenant = f"dash-duplicates-{time.monotonic_ns()}"
    admin = dash.server.create_key(tenant, "admin")
    grpc_export(dash.server.grpc_target, admin, _request(_shifted(RECORDED)))
    counts = _api(dash, "GET", "/api/v1/settings/duplicates", key=admin).json()
    assert counts["total"] == 2
    page = open_session(browser, dash.url, admin)
    page.goto(dash.url + "/settings#duplicates")
    rows = page.locator("#duplicates tr[data-duplicates]")
    assert [rows.nth(i).get_attribute("data-duplicates") for i in range(rows.count())] == [
        d["day"] for d in counts["days"]
    ]
    assert "two instrumentations, context lost between them" in rows.first.inner_text()
    assert rows.first.locator("td").last.inner_text() == "2"
    assert page.locator("#duplicates [data-detect]").get_attribute("data-detect") == "on"
    dash.page = page
    dash.shot("settings-duplicates")
    assert _submit(page, "#duplicates-form button[type=submit]").status == 303
    assert page.locator("#duplicates [data-detect]").get_attribute("data-detect") == "off"
    assert _api(dash, "GET", "/api/v1/settings/duplicates", key=admin).json()["detect"] is False
    page.context.close()
