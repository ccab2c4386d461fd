"""Every API route demands a key, and a key with the wrong scope is refused, whatever the route."""

from __future__ import annotations

import httpx

DUMMY = {
    "trace_id": "0" * 32,
    "price_id": "p",
    "key_id": "k",
    "cap_id": "cap_" + "0" * 16,
    "reservation_id": "res_" + "0" * 16,
    "user_id": "usr_" + "0" * 16,
    "invitation_id": "inv_" + "0" * 16,
}
ADMIN_ONLY = {
    ("put", "/api/v1/pricing/models"),
    ("delete", "/api/v1/pricing/models/{price_id}"),
    ("post", "/api/v1/pricing/reprice"),
    ("post", "/api/v1/keys"),
    ("get", "/api/v1/keys"),
    ("delete", "/api/v1/keys/{key_id}"),
    ("get", "/api/v1/settings/attribution"),
    ("put", "/api/v1/settings/attribution"),
    ("put", "/api/v1/settings/duplicates"),
    ("post", "/api/v1/caps"),
    ("patch", "/api/v1/caps/{cap_id}"),
    ("delete", "/api/v1/caps/{cap_id}"),
    ("post", "/api/v1/caps/{cap_id}/test"),
    ("post", "/api/v1/caps/{cap_id}/webhook-secret"),
    ("patch", "/api/v1/members/{user_id}"),
    ("delete", "/api/v1/members/{user_id}"),
    ("get", "/api/v1/invitations"),
    ("post", "/api/v1/invitations"),
    ("delete", "/api/v1/invitations/{invitation_id}"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/billing"),
    ("post", "/api/v1/billing/checkout"),
    ("post", "/api/v1/billing/portal"),
    ("post", "/api/v1/billing/promo"),
}
# Signed by their sender instead of a key (tests/billing).
PUBLIC = {("post", "/api/v1/billing/webhook")}
# What an instrumented app's ingest key may also ask: where its caps stand, and strict-mode reservations.
SENDER = {
    ("get", "/api/v1/caps/status"),
    ("get", "/api/v1/caps/check"),
    ("post", "/api/v1/caps/reservations"),
    ("post", "/api/v1/caps/reservations/{reservation_id}/settle"),
    ("delete", "/api/v1/caps/reservations/{reservation_id}"),
}


def _routes(server):  # type: ignore[no-untyped-def]
    spec = httpx.get(f"{server.http_url}/openapi.json", timeout=30).json()
    for path, methods in spec["paths"].items():
        if path.startswith("/api/v1/"):
            for method in methods:
                yield method, path


def _call(server, method: str, path: str, key: str | None) -> int:  # type: ignore[no-untyped-def]
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.request(
        method.upper(),
        f"{server.http_url}{path.format(**DUMMY)}",
        headers=headers,
        json={},
        params={"group_by": "model"},
        timeout=30,
    ).status_code


def test_every_route_needs_a_key_and_the_right_scope(server) -> None:  # type: ignore[no-untyped-def]
    ingest_only = server.create_key("scopes-ingest", "ingest")
    reader = server.create_key("scopes-reader", "read")
    routes = list(_routes(server))
    assert len(routes) >= 14
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        assert _call(server, method, path, None) == 401, (method, path)
        if (method, path) in SENDER:
            assert _call(server, method, path, ingest_only) not in (401, 403), (method, path)
        else:
            assert _call(server, method, path, ingest_only) == 403, (method, path)
        if (method, path) in ADMIN_ONLY:
            assert _call(server, method, path, reader) == 403, (method, path)
        else:
            assert _call(server, method, path, reader) not in (401, 403), (method, path)
