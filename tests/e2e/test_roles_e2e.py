"""The role matrix: every API route and every dashboard page, for a person of each role, signed in
with a session cookie. The expected status comes from a table of rules; a route or page without a
rule fails the suite, so nothing new ships unguarded."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
from fastapi.routing import APIRoute

from llmobserve.control import ROLES, ControlStore, default_url
from llmobserve.dashboard import PAGES
from llmobserve.query_api.services import SessionStore
from tests.conftest import LiveServer
from tests.e2e.test_scopes_e2e import ADMIN_ONLY, PUBLIC

DUMMY = {
    "trace_id": "0" * 32,
    "price_id": "p",
    "key_id": "k",
    "cap_id": "cap_" + "0" * 16,
    "reservation_id": "res_" + "0" * 16,
    "user_id": "usr_" + "0" * 16,
    "invitation_id": "inv_" + "0" * 16,
    "name": "nobody",
    "token": "t",
}
# The least role each route needs; "owner*": admins pass the API's check, the service refuses them.
API_RULES = {
    ("post", "/api/v1/keys"): "member",
    ("patch", "/api/v1/members/{user_id}"): "owner*",
    ("delete", "/api/v1/members/{user_id}"): "owner*",
    **{("post", f"/api/v1/billing/{action}"): "owner*" for action in ("checkout", "portal", "promo")},
    **{route: "public" for route in PUBLIC},
}
API_ADMIN = ADMIN_ONLY  # the routes an admin key needs (tests/e2e/test_scopes_e2e.py), as for people
PAGE_RULES = {
    # public: signed in or not
    ("get", "/login"): "public",
    ("post", "/login"): "public",
    ("post", "/logout"): "public",
    ("get", "/login/oidc/{name}"): "public",
    ("get", "/auth/oidc/{name}/callback"): "public",
    ("get", "/invite/{token}"): "public",
    ("get", "/confirm-recipient"): "public",
    ("post", "/confirm-recipient"): "public",
    ("post", "/workspace"): "viewer",
    **{
        (method, path): "public"
        for method in ("get", "post")
        for path in ("/signup", "/verify/{token}", "/reset", "/reset/{token}")
    },
    ("post", "/login/password"): "public",
    # ends the person's every session: tested in tests/dashboard/test_people_pages.py, not in this loop
    ("post", "/profile/sign-out-everywhere"): "public",
    ("get", "/members"): "viewer",
    ("get", "/onboarding"): "admin",
    ("post", "/onboarding"): "admin",
    ("get", "/profile"): "viewer",
    ("post", "/profile/name"): "viewer",
    ("post", "/profile/password"): "viewer",
    ("post", "/members/invite"): "admin",
    ("post", "/members/invitations/{invitation_id}/revoke"): "admin",
    ("post", "/members/{user_id}/role"): "owner*",
    ("post", "/members/{user_id}/remove"): "owner*",
    ("get", "/pricing"): "public",
    **{
        (method, path): "owner"
        for method, path in (("get", "/billing"),)
        + tuple(("post", f"/billing/{a}") for a in ("checkout", "portal", "promo"))
    },
    # pages every member reads
    **{("get", path): "viewer" for path in ("/", "/costs", "/models", "/agents", "/customers", "/runs", "/caps")},
    ("get", "/costs/export.csv"): "viewer",
    ("get", "/costs/export.json"): "viewer",
    ("get", "/dashboard/first-span"): "viewer",
    ("get", "/runs/{trace_id}"): "viewer",
    ("get", "/settings"): "viewer",
    ("get", "/caps/new"): "viewer",  # the form is shown disabled below admin
    ("get", "/caps/{cap_id}/edit"): "viewer",
    ("post", "/settings/keys"): "member",
    # changes
    **{
        ("post", path): "admin"
        for path in (
            "/caps/new",
            "/caps/{cap_id}/edit",
            "/caps/{cap_id}/webhook-secret",
            "/caps/{cap_id}/delete",
            "/settings/keys/{key_id}/revoke",
            "/settings/prices",
            "/settings/prices/{price_id}/delete",
            "/settings/duplicates",
        )
    },
}


# Bodies that pass validation, so that what answers is the role check, not the schema's.
BODIES: dict[tuple[str, str], object] = {
    ("patch", "/api/v1/members/{user_id}"): {"role": "viewer"},
    ("post", "/api/v1/keys"): {"scopes": ["ingest"]},
    ("post", "/api/v1/billing/promo"): {"code": "NOPE"},
}


def _rank(role: str) -> int:
    return ROLES.index(role.rstrip("*"))


@pytest.fixture(scope="module")
def people(server: LiveServer) -> Iterator[dict[str, tuple[str, str]]]:
    """A person of each role in one new workspace: role -> (session cookie, CSRF token)."""
    control = ControlStore.open(default_url(server.data_dir))
    workspace = f"roles-{secrets.token_hex(3)}"
    sessions = SessionStore(control)
    found = {}
    for role in ROLES:
        _, token = control.people.invite(workspace, f"{role}@example.com", role, ("cli", "test"))
        signed = control.people.sign_in_oidc("https://idp.test", role, "test", None, role.title(), "off", token)
        session = sessions.create_person(signed.user_id, workspace)
        found[role] = (session.id, session.csrf)
    yield found
    control.close()


def _api_routes(server: LiveServer) -> list[tuple[str, str]]:
    spec = httpx.get(f"{server.http_url}/openapi.json", timeout=30).json()
    return [(m, p) for p, methods in spec["paths"].items() if p.startswith("/api/v1/") for m in methods]


def _call(server: LiveServer, cookie: tuple[str, str] | None, method: str, path: str, **extra: object) -> int:
    cookies = {"llmo_session": cookie[0]} if cookie else {}
    headers = {"x-csrf-token": cookie[1]} if cookie else {}
    data = {"csrf": cookie[1]} if cookie and method == "post" and not path.startswith("/api/") else None
    return httpx.request(
        method.upper(),
        f"{server.http_url}{path.format(**DUMMY)}",
        cookies=cookies,
        headers=headers,
        data=data,
        json=BODIES.get((method, path), {}) if path.startswith("/api/") and method != "get" else None,
        params={"group_by": "model"} if method == "get" else None,
        timeout=30,
        follow_redirects=False,
        **extra,  # type: ignore[arg-type]
    ).status_code


def test_every_api_route_for_every_role(server: LiveServer, people: dict[str, tuple[str, str]]) -> None:
    for method, path in _api_routes(server):
        need = API_RULES.get((method, path)) or ("admin" if (method, path) in API_ADMIN else "viewer")
        if need == "public":
            continue
        for role in ROLES:
            status = _call(server, people[role], method, path)
            if _rank(role) >= _rank(need):
                assert status not in (401, 403), (role, method, path, status)
            else:
                assert status == 403, (role, method, path, status)


def test_every_page_has_a_rule_and_holds_it_for_every_role(
    server: LiveServer, people: dict[str, tuple[str, str]]
) -> None:
    pages = {
        (method.lower(), route.path)
        for router in PAGES
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert pages - set(PAGE_RULES) == set(), "a page without a rule: add it to PAGE_RULES"
    for method, path in sorted(pages):
        need = PAGE_RULES[(method, path)]
        if need == "public":
            continue
        assert _call(server, None, method, path) in (303, 403), (method, path)  # signed out: to sign-in
        for role in ROLES:
            status = _call(server, people[role], method, path)
            if _rank(role) >= _rank(need):
                assert status != 403 and status < 500, (role, method, path, status)
            else:
                assert status == 403, (role, method, path, status)


def test_a_viewers_forged_post_changes_nothing_and_a_removed_member_is_refused(
    server: LiveServer, people: dict[str, tuple[str, str]]
) -> None:
    viewer, owner = people["viewer"], people["owner"]
    before = httpx.get(f"{server.http_url}/api/v1/caps", cookies={"llmo_session": owner[0]}, timeout=30).json()
    body = {"scope": "global", "period": "daily", "limit_usd": "1"}
    forged = httpx.post(
        f"{server.http_url}/api/v1/caps",
        json=body,
        cookies={"llmo_session": viewer[0]},
        headers={"x-csrf-token": viewer[1]},
        timeout=30,
    )
    assert forged.status_code == 403
    no_token = httpx.post(f"{server.http_url}/api/v1/caps", json=body, cookies={"llmo_session": owner[0]}, timeout=30)
    assert no_token.status_code in (401, 403)  # a cookie alone (a cross-site request) changes nothing
    after = httpx.get(f"{server.http_url}/api/v1/caps", cookies={"llmo_session": owner[0]}, timeout=30).json()
    assert after == before
    members = httpx.get(f"{server.http_url}/api/v1/members", cookies={"llmo_session": owner[0]}, timeout=30).json()
    member_id = next(m["user_id"] for m in members["data"] if m["role"] == "member")
    removed = httpx.delete(
        f"{server.http_url}/api/v1/members/{member_id}",
        cookies={"llmo_session": owner[0]},
        headers={"x-csrf-token": owner[1]},
        timeout=30,
    )
    assert removed.status_code == 204
    member = people["member"]
    assert (
        httpx.get(f"{server.http_url}/api/v1/caps", cookies={"llmo_session": member[0]}, timeout=30).status_code == 401
    )
    assert httpx.get(f"{server.http_url}/caps", cookies={"llmo_session": member[0]}, timeout=30).status_code == 303
    made = httpx.post(
        f"{server.http_url}/api/v1/caps",
        json=body,
        cookies={"llmo_session": owner[0]},
        headers={"x-csrf-token": owner[1]},
        timeout=30,
    )
    assert made.status_code == 201
    audit = httpx.get(f"{server.http_url}/api/v1/audit", cookies={"llmo_session": owner[0]}, timeout=30).json()
    assert any(e["action"] == "member.remove" and e["target"] == member_id for e in audit["data"])
    assert any(e["action"] == "cap.create" and e["actor_name"] == "Owner" for e in audit["data"])
