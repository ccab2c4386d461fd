"""Billing on a live server with the stand-in Stripe: a free workspace past its allowance is refused
over gRPC and HTTP through the real OTel exporters and ingests again within seconds of paying; promo
codes with a message per refusal; signed webhooks only; the Billing and Pricing pages in Chromium."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from llmobserve.control import ControlStore, default_url
from tests.conftest import LiveServer, run_cli
from tests.dashboard.conftest import SCREENSHOTS, browser, open_session  # noqa: F401  the module's browser
from tests.otlp_helpers import breakdown, chat_attrs, grpc_export, http_export, request, span
from tests.standin.stripe_api import StandInStripe

FREE_SPANS = 20


@pytest.fixture(scope="module")
def stripe_api() -> Iterator[StandInStripe]:
    with StandInStripe() as standin:
        yield standin


@pytest.fixture(scope="module")
def live(stripe_api: StandInStripe, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(
        tmp_path_factory.mktemp("billing") / "data",
        env={
            "STRIPE_SECRET_KEY": stripe_api.secret_key,
            "STRIPE_WEBHOOK_SECRET": stripe_api.webhook_secret,
            "LLMOBSERVE_STRIPE_PRICE_PRO": "price_pro",
            "LLMOBSERVE_STRIPE_API_BASE": stripe_api.url,
            "LLMOBSERVE_STRIPE_MAX_NETWORK_RETRIES": "0",
            "LLMOBSERVE_FREE_SPANS": str(FREE_SPANS),
        },
    )
    stripe_api.webhook_url = f"{server.http_url}/api/v1/billing/webhook"
    server.start()
    yield server
    server.stop()


def _provider(exporter: Any) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "billing-e2e"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _calls(provider: TracerProvider, n: int) -> None:
    tracer = provider.get_tracer("billing-e2e")
    for _ in range(n):
        attrs = chat_attrs("openai", "gpt-4o-mini", 100, 10)
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=attrs):
            pass


def _stored(live: LiveServer, key: str) -> int:
    return sum(calls for _, calls in breakdown(live.http_url, key, "day").values())


def _billing(live: LiveServer, key: str) -> dict[str, Any]:
    response = httpx.get(f"{live.http_url}/api/v1/billing", headers={"authorization": f"Bearer {key}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _post(live: LiveServer, key: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(
        f"{live.http_url}/api/v1/billing{path}", json=body, headers={"authorization": f"Bearer {key}"}, timeout=30
    )


def test_a_free_workspace_past_its_allowance_is_refused_and_ingests_again_after_paying(
    live: LiveServer, stripe_api: StandInStripe
) -> None:
    sender, owner = live.create_key("team-free"), live.create_key("team-free", "admin")
    via_http = _provider(
        HttpExporter(endpoint=f"{live.http_url}/v1/traces", headers={"authorization": f"Bearer {sender}"})
    )
    via_grpc = _provider(
        GrpcExporter(endpoint=live.grpc_target, insecure=True, headers={"authorization": f"Bearer {sender}"})
    )
    _calls(via_http, FREE_SPANS // 2)
    _calls(via_grpc, FREE_SPANS // 2)
    assert _stored(live, sender) == FREE_SPANS
    _calls(via_http, 5)
    _calls(via_grpc, 5)
    assert _stored(live, sender) == FREE_SPANS  # refused, and the stored data stays readable

    # what an exporter is told: a final partial success saying why and where to upgrade
    body = request(span(attrs=chat_attrs("openai", "gpt-4o-mini", 1, 1))).SerializeToString()
    answered = grpc_export(live.grpc_target, sender, body)
    assert answered.partial_success.rejected_spans == 1
    assert "20 spans of the free plan" in answered.partial_success.error_message
    assert f"{live.http_url}/billing" in answered.partial_success.error_message
    over_http = http_export(live.http_url, sender, body)
    assert over_http.status_code == 200
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    assert ExportTraceServiceResponse.FromString(over_http.content).partial_success.rejected_spans == 1

    deadline = time.monotonic() + 10  # counts reach the store within its flush interval
    while (state := _billing(live, owner))["spans_refused_today"] < 12 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (state["plan"], state["spans_used"], state["spans_allowance"]) == ("free", FREE_SPANS, FREE_SPANS)
    assert state["spans_refused_today"] == state["spans_refused_month"] == 12

    # pay: Checkout, then the stand-in's hosted page, which sends the signed webhooks before returning
    checkout = _post(live, owner, "/checkout")
    assert checkout.status_code == 200, checkout.text
    paid = httpx.post(checkout.json()["url"])
    session_id = checkout.json()["url"].rsplit("/", 1)[1]
    assert paid.status_code == 303
    assert paid.headers["location"] == f"{live.http_url}/billing?checkout=done&session_id={session_id}"
    assert [status for _, _, status in stripe_api.deliveries[-3:]] == [200, 200, 200]
    started = time.monotonic()
    while _stored(live, sender) == FREE_SPANS:
        _calls(via_grpc, 1)
        assert time.monotonic() - started < 5, "still refused 5 s after checkout.session.completed"
    _calls(via_http, 3)
    assert _stored(live, sender) >= FREE_SPANS + 4
    state = _billing(live, owner)
    assert (state["plan"], state["status"], state["spans_allowance"]) == ("pro", "active", None)
    for provider in (via_http, via_grpc):
        provider.shutdown()


def test_promo_codes_grant_once_and_each_refusal_says_which(live: LiveServer) -> None:
    owner, reader = live.create_key("team-promo", "admin"), live.create_key("team-promo", "read")
    other = live.create_key("team-promo-2", "admin")
    data = ["--data-dir", str(live.data_dir)]
    made = run_cli("billing", "promo", "create", "WELCOME-24", "--months", "2", "--max-redemptions", "1", *data)
    assert made.returncode == 0 and "WELCOME-24 grants pro for 2 month(s)" in made.stdout, made.stderr
    for code in ("PAUSED-1", "TWO-USES"):
        assert run_cli("billing", "promo", "create", code, "--max-redemptions", "2", *data).returncode == 0
    assert run_cli("billing", "promo", "disable", "paused-1", *data).returncode == 0
    store = ControlStore.open(default_url(live.data_dir))
    try:
        store.billing.create_promo("LAST-YEAR", 1, 5, datetime.now(UTC) - timedelta(days=1))
    finally:
        store.close()
    listed = run_cli("billing", "promo", "list", *data).stdout
    assert "WE…\tactive\t0/1" in listed and "PA…\tdisabled" in listed and "LA…\texpired" in listed
    assert "WELCOME" not in listed  # only a hint of the code: the code itself is stored hashed

    assert _post(live, reader, "/promo", {"code": "WELCOME-24"}).status_code == 403
    granted = _post(live, owner, "/promo", {"code": "welcome-24"})
    assert granted.status_code == 200, granted.text
    assert granted.json()["result"] == "granted" and granted.json()["billing"]["plan"] == "pro"
    assert granted.json()["billing"]["reason"] == "promo code"
    refusals = {
        "NO-SUCH-CODE": (404, "no such promo code"),
        "LAST-YEAR": (410, "this promo code has expired"),
        "PAUSED-1": (410, "this promo code has been withdrawn"),
        "WELCOME-24": (409, "this workspace has already redeemed this promo code"),
    }
    for code, (status, message) in refusals.items():
        answer = _post(live, owner, "/promo", {"code": code})
        assert (answer.status_code, answer.json()["detail"]) == (status, message), code
    exhausted = _post(live, other, "/promo", {"code": "WELCOME-24"})
    assert (exhausted.status_code, exhausted.json()["detail"]) == (
        409,
        "this promo code has been used as many times as it may be",
    )
    assert _post(live, owner, "/promo", {"code": ""}).status_code == 422
    # attempts are limited per workspace: guessing stops, and the other workspace is not affected
    codes = [_post(live, owner, "/promo", {"code": f"GUESS-{i}"}).status_code for i in range(8)]
    assert codes[-1] == 429 and set(codes[:3]) == {404}
    assert _post(live, other, "/promo", {"code": "TWO-USES"}).status_code == 200


def test_webhooks_need_a_good_signature(live: LiveServer, stripe_api: StandInStripe) -> None:
    event = stripe_api.make_event("customer.created", {"id": "cus_x", "object": "customer"})
    payload = json.dumps(event).encode()
    url = f"{live.http_url}/api/v1/billing/webhook"
    for headers in ({}, {"stripe-signature": stripe_api.sign(payload, secret="whsec_wrong")}):
        refused = httpx.post(url, content=payload, headers={"content-type": "application/json", **headers})
        assert refused.status_code == 400, refused.text
    assert stripe_api.deliver(event) == 200
    assert stripe_api.deliver(event) == 200  # a redelivery is answered and applies nothing


def test_billing_off_is_unlimited_and_has_no_billing_pages(server: LiveServer, tenant_key: str) -> None:
    admin = {"authorization": f"Bearer {server.admin_key}"}
    answer = httpx.get(f"{server.http_url}/api/v1/billing", headers=admin)
    assert answer.status_code == 404 and "billing is off" in answer.json()["detail"]
    assert httpx.post(f"{server.http_url}/api/v1/billing/checkout", headers=admin).status_code == 404
    # no Pricing page: a signed-out visitor is sent to sign in, as for any page that does not exist
    pricing = httpx.get(f"{server.http_url}/pricing")
    assert pricing.status_code == 303 and pricing.headers["location"].startswith("/login")


def test_the_billing_page_upgrades_through_checkout_and_cancels_through_the_portal(
    live: LiveServer,
    browser: Any,  # noqa: F811
) -> None:
    owner = live.create_key("team-web", "admin")
    page = open_session(browser, live.http_url, owner)
    try:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.goto(live.http_url + "/onboarding")
        assert "free plan: 20 spans a month" in page.inner_text("#offer")
        page.screenshot(path=str(SCREENSHOTS / "onboarding-offer.png"), full_page=True)
        page.goto(live.http_url + "/billing")
        assert page.inner_text("#plan") == "free"
        page.screenshot(path=str(SCREENSHOTS / "billing-free.png"), full_page=True)
        with page.expect_navigation():
            page.click("#upgrade")
        assert page.url.startswith(live.http_url) is False  # Stripe's (the stand-in's) Checkout
        with page.expect_navigation(url=re.compile(re.escape(f"{live.http_url}/billing?checkout=done&session_id=cs_"))):
            page.click("button:has-text('Subscribe')")
        assert page.inner_text("#plan") == "pro"
        page.screenshot(path=str(SCREENSHOTS / "billing-pro.png"), full_page=True)
        with page.expect_navigation():
            page.click("#manage")
        with page.expect_navigation(url=f"{live.http_url}/billing"):
            page.click("button:has-text('Cancel plan')")
        assert "Your subscription ends on" in page.inner_text("#ends")
        assert page.inner_text("#plan") == "pro"
        page.screenshot(path=str(SCREENSHOTS / "billing-canceled.png"), full_page=True)
        public = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        public.goto(live.http_url + "/pricing")
        assert "20 spans a month" in public.inner_text("main")
        public.screenshot(path=str(SCREENSHOTS / "pricing.png"), full_page=True)
        public.context.close()
    finally:
        page.context.close()


def test_twenty_workspaces_racing_for_a_one_use_code_through_the_api_get_one_grant(live: LiveServer) -> None:
    assert run_cli("billing", "promo", "create", "LAST-ONE", "--data-dir", str(live.data_dir)).returncode == 0
    owners = [live.create_key(f"race-{i}", "admin") for i in range(20)]
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda key: _post(live, key, "/promo", {"code": "LAST-ONE"}), owners))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 19
    assert {a.json()["detail"] for a in answers if a.status_code == 409} == {
        "this promo code has been used as many times as it may be"
    }
    assert sum(_billing(live, key)["plan"] == "pro" for key in owners) == 1
