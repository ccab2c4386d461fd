"""Tenant isolation over the whole API: with tenant A's admin key, every route of the OpenAPI
schema (path ids guessed from tenant B's real traces, keys and prices, every filter set to B's
values) answers without one byte of B's data, and nothing A does changes B."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import httpx

from tests.otlp_helpers import breakdown, chat_attrs, grpc_export, request, span

B_SECRETS = {
    "service": "svc-b-secret",
    "customer": "cust-b-secret",
    "agent": "agent-b-secret",
    "model": "model-b-secret",
    "section": "agent:agent-b-secret",
}


def _seed(server, key: str, secrets: dict[str, str] | None, trace: bytes, root: bytes) -> None:  # type: ignore[no-untyped-def]
    labels = (
        {"llmobserve.customer.id": secrets["customer"], "llmobserve.section.path": secrets["section"]}
        if secrets
        else {}
    )
    agent = secrets["agent"] if secrets else "agent-a"
    service = secrets["service"] if secrets else "svc-a"
    spans = [
        span(
            f"invoke_agent {agent}",
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent, **labels},
            trace_id=trace,
            span_id=root,
        ),
        span("chat gpt-4o", chat_attrs("openai", "gpt-4o", 1000, 100, **labels), trace_id=trace, parent=root),
        span(
            "chat",
            chat_attrs("openai", secrets["model"] if secrets else "model-a", 10, 10, **labels),
            trace_id=trace,
            parent=root,
        ),
    ]
    grpc_export(server.grpc_target, key, request(*spans, service=service).SerializeToString())


def _routes(server):  # type: ignore[no-untyped-def]
    spec = httpx.get(f"{server.http_url}/openapi.json", timeout=30).json()
    for path, methods in spec["paths"].items():
        if path.startswith("/api/v1/"):
            for method, op in methods.items():
                yield method.upper(), path, [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]


def test_tenant_a_sees_nothing_of_tenant_b_on_any_route(server) -> None:  # type: ignore[no-untyped-def]
    key_a, key_b = server.create_key("iso-a", "admin"), server.create_key("iso-b", "admin")
    trace_a, trace_b, root_b = os.urandom(16), os.urandom(16), os.urandom(8)
    _seed(server, key_a, None, trace_a, os.urandom(8))
    _seed(server, key_b, B_SECRETS, trace_b, root_b)
    hb = {"authorization": f"Bearer {key_b}"}
    price_b = httpx.put(
        f"{server.http_url}/api/v1/pricing/models",
        headers=hb,
        timeout=30,
        json={"model": B_SECRETS["model"], "input_per_mtok": "7", "output_per_mtok": "9"},
    ).json()["id"]
    key_b_id = httpx.get(f"{server.http_url}/api/v1/keys", headers=hb, timeout=30).json()["data"][0]["key_id"]
    cap_b = httpx.post(
        f"{server.http_url}/api/v1/caps",
        headers=hb,
        timeout=30,
        json={"scope": "customer", "value": B_SECRETS["customer"], "limit_usd": "1", "enforcement": "hard_block"},
    ).json()
    reservation_b = httpx.post(
        f"{server.http_url}/api/v1/caps/reservations", headers=hb, timeout=30, json={"customer": B_SECRETS["customer"]}
    ).json()["id"]
    invitation_b = httpx.post(
        f"{server.http_url}/api/v1/invitations", headers=hb, timeout=30, json={"email": "b@example.com"}
    ).json()["id"]
    b_before = breakdown(server.http_url, key_b, "model")
    secrets = [
        *B_SECRETS.values(),
        trace_b.hex(),
        root_b.hex(),
        price_b,
        key_b_id,
        key_b[:16],
        cap_b["id"],
        reservation_b,
        invitation_b,
    ]

    now = datetime.now(UTC)
    window = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    guesses = {
        "trace_id": trace_b.hex(),
        "key_id": key_b_id,
        "price_id": price_b,
        "cap_id": cap_b["id"],
        "reservation_id": reservation_b,
        "invitation_id": invitation_b,
        "user_id": "usr_" + os.urandom(8).hex(),
    }
    ha = {"authorization": f"Bearer {key_a}"}
    calls = 0
    for method, path, query in _routes(server):
        # every filter set to B's value, then with none (A's own data must still come back)
        filters = {name: B_SECRETS[name] for name in query if name in B_SECRETS}
        for params in (filters, {}):
            params = {**params, **{k: v for k, v in window.items() if k in query}}
            if "group_by" in query:
                params["group_by"] = "model"
            if "format" in query:
                params["format"] = "json"
            url = f"{server.http_url}{path.format(**guesses)}"
            body = {"from": window["from"], "to": window["to"]} if path.endswith("/reprice") else {}
            if path.startswith("/api/v1/members/"):
                body = {"role": "viewer"}
            response = httpx.request(method, url, headers=ha, params=params, json=body, timeout=60)
            calls += 1
            text = response.text
            sent = [v for k, v in guesses.items() if f"{{{k}}}" in path]  # an error may name the id A sent
            leaked = [s for s in secrets if s in text and s not in sent]
            assert not leaked, (method, path, params, leaked, text[:500])
            if "{" in path:  # B's ids guessed: the very answer an id that exists nowhere gets
                unknown = {
                    "trace_id": os.urandom(16).hex(),
                    "key_id": "k" + os.urandom(5).hex(),
                    "price_id": os.urandom(8).hex(),
                    "cap_id": "cap_" + os.urandom(8).hex(),
                    "reservation_id": "res_" + os.urandom(8).hex(),
                    "invitation_id": "inv_" + os.urandom(8).hex(),
                    "user_id": "usr_" + os.urandom(8).hex(),
                }
                other = httpx.request(
                    method,
                    f"{server.http_url}{path.format(**unknown)}",
                    headers=ha,
                    params=params,
                    json=body,
                    timeout=60,
                )
                assert response.status_code == other.status_code == 404, (method, path, response.status_code)
                expected = other.text
                for name, value in unknown.items():
                    expected = expected.replace(value, guesses[name])
                assert text == expected, (method, path, text, other.text)
    assert calls >= 2 * 14

    # A's own data is there (the walk above would pass on an empty API too)
    assert breakdown(server.http_url, key_a, "model")["gpt-4o"][1] == 1
    assert server.get(f"/api/v1/traces/{trace_a.hex()}", key_a).status_code == 200
    # and B is untouched: A's deletes and re-pricing did not reach B's key, price or spans
    assert httpx.get(f"{server.http_url}/api/v1/keys", headers=hb, timeout=30).status_code == 200
    assert [
        p["id"] for p in httpx.get(f"{server.http_url}/api/v1/pricing/models", headers=hb, timeout=30).json()["data"]
    ] == [price_b]
    cap_b_now = httpx.get(f"{server.http_url}/api/v1/caps/{cap_b['id']}", headers=hb, timeout=30).json()
    shown_once = {"webhook_secret", "recipients_status"}  # the secret at create only; states change
    assert {k: v for k, v in cap_b_now.items() if k in cap_b and k not in shown_once} == {
        k: v for k, v in cap_b.items() if k not in shown_once
    }
    assert httpx.get(f"{server.http_url}/api/v1/caps/reservations", headers=hb, timeout=30).json()["open"] == 1
    time.sleep(0.1)
    assert breakdown(server.http_url, key_b, "model") == b_before
    assert server.get(f"/api/v1/traces/{trace_b.hex()}", key_b).status_code == 200
