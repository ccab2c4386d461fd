"""The Members and Profile pages in Chromium: an owner invites (the link shown once when the server
sends no e-mail), changes a role, withdraws an invitation, sees the audit log; renames themself and
signs out everywhere."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from llmobserve.control import ControlStore, default_url
from llmobserve.query_api.services import SessionStore
from tests.conftest import LiveServer
from tests.dashboard.conftest import SCREENSHOTS


def _people(server: LiveServer) -> tuple[str, dict[str, tuple[str, str, str]]]:
    """A new workspace with an owner and a member: (workspace, role -> (session id, user id, CSRF token))."""
    control = ControlStore.open(default_url(server.data_dir))
    workspace = f"pages-{secrets.token_hex(3)}"
    found = {}
    try:
        for role, name in (("owner", "Olive Owner"), ("member", "Max Member")):
            _, token = control.people.invite(workspace, f"{role}@example.com", role, ("cli", "test"))
            signed = control.people.sign_in_oidc(
                "https://idp.pages", f"{workspace}-{role}", "t", None, name, "off", token
            )
            session = SessionStore(control).create_person(signed.user_id, workspace)
            found[role] = (session.id, signed.user_id, session.csrf)
    finally:
        control.close()
    return workspace, found


def test_an_owner_manages_members_and_their_profile(server: LiveServer, browser: Any) -> None:
    workspace, people = _people(server)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "llmo_session", "value": people["owner"][0], "url": server.http_url}])
    page = context.new_page()
    try:
        page.goto(f"{server.http_url}/members")
        assert "Max Member" in page.inner_text("main") and "Olive Owner" in page.inner_text("main")
        invite = page.locator("form[action='/members/invite']")
        invite.locator("input[name=email]").fill("newcomer@example.com")
        invite.locator("select[name=role]").select_option("viewer")
        invite.locator("button").click()
        notice = page.inner_text("[role=status]")
        assert "send them this link" in notice and "/invite/" in notice and "(viewer)" in notice
        row = page.locator(f"tr[data-member='{people['member'][1]}']")
        row.locator("select[name=role]").select_option("admin")
        row.locator("button:has-text('Change')").click()
        assert "Role changed to admin" in page.inner_text("[role=status]")
        page.locator("button:has-text('Withdraw')").first.click()
        assert "withdrawn" in page.inner_text("[role=status]")
        log = page.inner_text("main")
        assert "member.role" in log and "invitation.create" in log and "invitation.revoke" in log
        page.screenshot(path=str(SCREENSHOTS / "members.png"), full_page=True)

        page.goto(f"{server.http_url}/profile")
        page.fill("input[name=name]", "Olive O.")
        page.click("button:has-text('Save')")
        assert "Olive O. (owner)" in page.inner_text("header")
        page.screenshot(path=str(SCREENSHOTS / "profile.png"), full_page=True)
        page.click("button:has-text('Sign out everywhere')")
        page.wait_for_url(f"{server.http_url}/login")
    finally:
        context.close()
    # the session is gone in the store, not just in this browser
    old = httpx.get(f"{server.http_url}/members", cookies={"llmo_session": people["owner"][0]}, timeout=30)
    assert old.status_code == 303
    member = httpx.get(f"{server.http_url}/api/v1/members", cookies={"llmo_session": people["member"][0]}, timeout=30)
    assert {m["name"]: m["role"] for m in member.json()["data"]}["Max Member"] == "admin"


def test_an_admin_cannot_invite_an_owner_and_a_viewer_sees_no_forms(server: LiveServer, browser: Any) -> None:
    workspace, people = _people(server)
    admin_session = people["member"][0]
    control = ControlStore.open(default_url(server.data_dir))
    try:
        control.people.set_role(workspace, people["member"][1], "admin", ("cli", "test"))
    finally:
        control.close()

    def invite(role: str) -> httpx.Response:
        return httpx.post(
            f"{server.http_url}/api/v1/invitations",
            json={"email": "boss@example.com", "role": role},
            cookies={"llmo_session": admin_session},
            headers={"x-csrf-token": people["member"][2]},
            timeout=30,
        )

    refused = invite("owner")
    assert refused.status_code == 403 and "cannot invite someone as owner" in refused.text
    assert invite("admin").status_code == 201  # up to their own role
    context = browser.new_context()
    context.add_cookies([{"name": "llmo_session", "value": admin_session, "url": server.http_url}])
    page = context.new_page()
    try:
        page.goto(f"{server.http_url}/members")
        options = page.locator("select[name=role] option").all_inner_texts()
        assert "owner" not in options and "admin" in options  # never above their own
    finally:
        context.close()
