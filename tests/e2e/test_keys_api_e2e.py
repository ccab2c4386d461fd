"""API keys through the API: admin only, shown once, listed by prefix, revoked at once."""

from __future__ import annotations

import grpc
import httpx
import pytest

from tests.otlp_helpers import chat_attrs, grpc_export, request, span


def _call(server, method: str, path: str, key: str, **kwargs):  # type: ignore[no-untyped-def]
    return httpx.request(
        method, f"{server.http_url}{path}", headers={"authorization": f"Bearer {key}"}, timeout=30, **kwargs
    )


def test_create_list_use_and_revoke_a_key(server) -> None:  # type: ignore[no-untyped-def]
    admin = server.create_key("keys-api-co", "admin")
    created = _call(server, "POST", "/api/v1/keys", admin, json={"scopes": ["ingest", "read"], "name": "ci"})
    assert created.status_code == 201, created.text
    body = created.json()
    key, key_id = body["key"], body["key_id"]
    assert key.startswith(body["prefix"]) and body["scopes"] == ["ingest", "read"] and body["name"] == "ci"

    listed = _call(server, "GET", "/api/v1/keys", admin)
    assert listed.status_code == 200 and key not in listed.text  # never shown again
    assert any(k["key_id"] == key_id and not k["revoked"] for k in listed.json()["data"])

    grpc_export(
        server.grpc_target, key, request(span(attrs=chat_attrs("openai", "gpt-4o", 10, 10))).SerializeToString()
    )
    assert _call(server, "GET", "/api/v1/costs/breakdown?group_by=model", key).status_code == 200

    assert _call(server, "DELETE", f"/api/v1/keys/{key_id}", admin).status_code == 204
    assert _call(server, "GET", "/api/v1/costs/breakdown?group_by=model", key).status_code == 401  # at once
    with pytest.raises(grpc.RpcError) as caught:
        grpc_export(server.grpc_target, key, request(span()).SerializeToString())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert any(
        k["key_id"] == key_id and k["revoked"] for k in _call(server, "GET", "/api/v1/keys", admin).json()["data"]
    )


def test_keys_need_admin_and_stay_in_their_tenant(server) -> None:  # type: ignore[no-untyped-def]
    reader = server.create_key("keys-reader-co", "read", "ingest")
    assert _call(server, "GET", "/api/v1/keys", reader).status_code == 403
    assert _call(server, "POST", "/api/v1/keys", reader, json={}).status_code == 403
    admin_a = server.create_key("keys-a", "admin")
    admin_b = server.create_key("keys-b", "admin")
    b_key_id = _call(server, "POST", "/api/v1/keys", admin_b, json={}).json()["key_id"]
    assert _call(server, "DELETE", f"/api/v1/keys/{b_key_id}", admin_a).status_code == 404  # B's key is not A's
    assert b_key_id not in _call(server, "GET", "/api/v1/keys", admin_a).text
    bad = _call(server, "POST", "/api/v1/keys", admin_a, json={"scopes": ["root"]})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_parameters"
