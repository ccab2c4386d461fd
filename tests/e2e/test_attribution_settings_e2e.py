"""Issue 11: a business that bills per organisation says which attribute is its customer. The tenant's
setting changes its own attribution at once, on spans and resources; another tenant is unaffected."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer
from tests.otlp_helpers import breakdown, chat_attrs, grpc_export, request, span
from tests.prices import as_json_number, cost

ONE = as_json_number(cost("gpt-4o", 100, 10))


def _settings(server: LiveServer, key: str, body: object | None = None) -> httpx.Response:
    url, headers = f"{server.http_url}/api/v1/settings/attribution", {"authorization": f"Bearer {key}"}
    if body is None:
        return httpx.get(url, headers=headers, timeout=30)
    return httpx.put(url, json=body, headers=headers, timeout=30)


def _send(server: LiveServer, key: str, **attrs: str) -> None:
    grpc_export(
        server.grpc_target,
        key,
        request(span(attrs={**chat_attrs("openai", "gpt-4o", 100, 10), **attrs})).SerializeToString(),
    )


def test_a_tenant_names_its_own_customer_attribute(server: LiveServer) -> None:
    billing, other = server.create_key("bills-per-org", "admin"), server.create_key("bills-per-user", "admin")
    default = _settings(server, billing).json()
    assert default["customer_is_default"] is True and default["customer"][0] == "llmobserve.customer.id"
    assert "user.id" in default["customer"] and default["customer"] == default["default_customer"]

    put = _settings(server, billing, {"customer": ["tenant.org_id", "llmobserve.customer.id"]})
    assert put.status_code == 200 and put.json()["customer"] == ["tenant.org_id", "llmobserve.customer.id"]
    for key in (billing, other):
        _send(server, key, **{"tenant.org_id": "org-1", "user.id": "u1"})
    assert breakdown(server.http_url, billing, "customer") == {"org-1": (ONE, 1)}
    assert breakdown(server.http_url, other, "customer") == {"u1": (ONE, 1)}  # unaffected

    # the organisation may be said once, on the resource
    message = request(span(attrs={**chat_attrs("openai", "gpt-4o", 100, 10), "user.id": "u2"}))
    message.resource_spans[0].resource.attributes.add(key="tenant.org_id").value.string_value = "org-2"
    grpc_export(server.grpc_target, billing, message.SerializeToString())
    assert breakdown(server.http_url, billing, "customer")["org-2"] == (ONE, 1)

    reset = _settings(server, billing, {"customer": None})
    assert reset.status_code == 200 and reset.json()["customer_is_default"] is True
    _send(server, billing, **{"tenant.org_id": "org-1", "user.id": "u3"})
    assert breakdown(server.http_url, billing, "customer")["u3"] == (ONE, 1)


def test_attribution_settings_are_admin_only_and_validated(server: LiveServer) -> None:
    admin, reader = server.create_key("attribution-rules", "admin"), server.create_key("attribution-reader", "read")
    assert _settings(server, reader).status_code == 403
    assert _settings(server, reader, {"customer": ["x"]}).status_code == 403
    for bad in (
        {"customer": ["has space"]},
        {"customer": ["a", "a"]},
        {"customer": ["x" * 257]},
        {"customer": [f"a{i}" for i in range(17)]},
        {"customer": "tenant.org_id"},
        {},
    ):
        answer = _settings(server, admin, bad)
        assert answer.status_code == 422, (bad, answer.text)
