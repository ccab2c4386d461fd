"""Members (invite, change a role, remove, withdraw an invitation; the audit log) and Profile (name,
password, linked sign-ins, sign out everywhere). Each change is the API's own service
(``query_api.services.people``), so the page and ``/api/v1`` enforce the same rules."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from llmobserve.control import ROLES, SignInRefused, role_rank
from llmobserve.query_api.services import ServiceError, accounts, people

from ._web import Page, PageDep, check_csrf, render, session_cookie

router = APIRouter(include_in_schema=False)


def _members_page(request: Request, p: Page, status: int = 200) -> HTMLResponse:
    admin = p.principal.allows("admin")
    own = p.principal.role or "owner"  # an admin key may invite to any role
    return render(
        request,
        "members.html",
        status_code=status,
        **p.context("Members", "/members"),
        members=people.list_members(p.control, p.tenant),
        me=p.principal.user_id,
        owner=p.principal.allows("owner"),
        roles=ROLES,
        invitable=[r for r in ROLES if role_rank(r) <= role_rank(own)],
        invitations=people.list_invitations(p.control, p.tenant) if admin else [],
        audit=people.audit_log(p.control, p.tenant, 50) if admin else [],
        mail=p.services.notifier.email_enabled,
    )


@router.get("/members", response_class=HTMLResponse)
def members(request: Request, p: PageDep) -> HTMLResponse:
    return _members_page(request, p)


async def _change(request: Request, p: Page, work: Callable[[], object], done: str) -> Response:
    try:
        await run_in_threadpool(work)
    except ServiceError as exc:
        p.session.flash.append(str(exc.detail))
        if exc.status == 403:
            return await run_in_threadpool(_members_page, request, p, 403)
    else:
        p.session.flash.append(done)
    return RedirectResponse("/members", status_code=303)


@router.post("/members/invite")
async def invite(request: Request, p: PageDep) -> Response:
    form = await check_csrf(request, p.session)
    email, role = str(form.get("email", "")).strip(), str(form.get("role", "member"))
    try:
        made, token = await run_in_threadpool(people.invite, p.control, p.principal, email, role)
    except ServiceError as exc:
        p.session.flash.append(str(exc.detail))
        return await run_in_threadpool(_members_page, request, p, exc.status)
    link, mailed = await run_in_threadpool(people.send_invitation, p.services, p.principal, made, token)
    p.session.flash.append(
        f"Invitation e-mailed to {made.email}."
        if mailed
        else f"Invitation for {made.email} ({made.role}): send them this link, shown once: {link}"
    )
    return RedirectResponse("/members", status_code=303)


@router.post("/members/{user_id}/role")
async def change_role(user_id: str, request: Request, p: PageDep) -> Response:
    form = await check_csrf(request, p.session)
    role = str(form.get("role", ""))
    return await _change(
        request, p, lambda: people.change_role(p.control, p.principal, user_id, role), f"Role changed to {role}."
    )


@router.post("/members/{user_id}/remove")
async def remove(user_id: str, request: Request, p: PageDep) -> Response:
    await check_csrf(request, p.session)
    return await _change(request, p, lambda: people.remove_member(p.control, p.principal, user_id), "Member removed.")


@router.post("/members/invitations/{invitation_id}/revoke")
async def revoke(invitation_id: str, request: Request, p: PageDep) -> Response:
    await check_csrf(request, p.session)
    if not p.principal.allows("admin"):
        p.require_admin()
    return await _change(
        request,
        p,
        lambda: people.revoke_invitation(p.control, p.principal, invitation_id),
        "Invitation withdrawn: its link no longer works.",
    )


def _profile_page(request: Request, p: Page, status: int = 200) -> HTMLResponse:
    user = p.control.people.user(p.principal.user_id) if p.principal.user_id else None
    return render(
        request,
        "profile.html",
        status_code=status,
        **p.context("Profile", "/profile"),
        user=user,
        identities=p.control.people.identities(user.id) if user else [],
        min_password=accounts.MIN_PASSWORD,
    )


@router.get("/profile", response_class=HTMLResponse)
def profile(request: Request, p: PageDep) -> HTMLResponse:
    return _profile_page(request, p)


@router.post("/profile/name")
async def rename(request: Request, p: PageDep) -> Response:
    form = await check_csrf(request, p.session)
    name = str(form.get("name", "")).strip()[:200]
    if p.principal.user_id and name:
        await run_in_threadpool(p.control.people.set_name, p.principal.user_id, name)
        p.session.flash.append("Name saved.")
    return RedirectResponse("/profile", status_code=303)


@router.post("/profile/password")
async def change_password(request: Request, p: PageDep) -> Response:
    form = await check_csrf(request, p.session)
    user = p.control.people.user(p.principal.user_id) if p.principal.user_id else None
    if user is None or user.login_email is None:
        return RedirectResponse("/profile", status_code=303)
    try:
        await run_in_threadpool(
            accounts.password_sign_in, p.services, f"user:{user.id}", user.login_email, str(form.get("current", ""))
        )
    except (ServiceError, SignInRefused):
        p.session.flash.append("The current password is wrong; nothing was changed.")
        return await run_in_threadpool(_profile_page, request, p, 400)
    new = str(form.get("password", ""))
    if len(new) < accounts.MIN_PASSWORD:
        p.session.flash.append(f"Choose a password of at least {accounts.MIN_PASSWORD} characters.")
        return await run_in_threadpool(_profile_page, request, p, 400)
    await run_in_threadpool(
        p.control.people.set_password, user.id, await run_in_threadpool(accounts.hash_password, new), False
    )
    p.session.flash.append("Password changed.")
    return RedirectResponse("/profile", status_code=303)


@router.post("/profile/sign-out-everywhere")
async def sign_out_everywhere(request: Request, p: PageDep) -> Response:
    await check_csrf(request, p.session)
    if p.principal.user_id:
        await run_in_threadpool(p.control.people.end_sessions, p.principal.user_id)
    response = RedirectResponse("/login", status_code=303)
    name, secure = session_cookie(p.services)
    response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="strict")
    return response
