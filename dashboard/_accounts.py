"""Local accounts' pages: sign up (the account exists once the e-mailed link is opened), sign in
with a password, and reset it. Before a session exists there is no CSRF token: these forms are
refused when posted from another site (as ``POST /login`` is)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from llmobserve.control import SignInRefused
from llmobserve.query_api.deps import ServicesDep
from llmobserve.query_api.services import ServiceError, Services, accounts

from ._signin import SESSION_S, client_address, safe_next, sign_in_form
from ._web import render, same_origin, session_cookie

router = APIRouter(include_in_schema=False)
_FOREIGN = "This form did not come from this server's own page: open it here and retry."


def _page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    return render(request, "account.html", status_code=status, min_password=accounts.MIN_PASSWORD, **context)


def _signed_in(services: Services, user_id: str, next: str = "/") -> Response:
    joined = services.control.people.workspaces_of(user_id)
    if not joined:
        return RedirectResponse("/login?error=no-workspace", status_code=303)
    session = services.sessions.create_person(user_id, joined[0][0])
    response = RedirectResponse(safe_next(next), status_code=303)
    name, secure = session_cookie(services)
    response.set_cookie(name, session.id, max_age=SESSION_S, httponly=True, samesite="strict", secure=secure, path="/")
    return response


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, invitation: str | None = None) -> HTMLResponse:
    return _page(request, title="Create an account", form="signup", values={}, invitation=invitation)


@router.post("/signup", response_class=HTMLResponse)
async def signup(
    request: Request,
    services: ServicesDep,
    email: str = Form("", max_length=320),
    password: str = Form("", max_length=1024),
    name: str = Form("", max_length=200),
    invitation: str | None = Form(None, max_length=200),
) -> HTMLResponse:
    values = {"email": email, "name": name}
    if not same_origin(request):
        return _page(request, 403, title="Create an account", form="signup", values=values, error=_FOREIGN)
    try:
        address = await run_in_threadpool(accounts.start_sign_up, services, email, password, name, invitation)
    except (ServiceError, SignInRefused) as exc:
        status = exc.status if isinstance(exc, ServiceError) else 403
        message = str(exc.detail) if isinstance(exc, ServiceError) else str(exc)
        return _page(
            request,
            status,
            title="Create an account",
            form="signup",
            values=values,
            error=message,
            invitation=invitation,
        )
    return _page(request, title="Check your e-mail", notice=f"We sent a link to {address}. Open it to finish.")


@router.get("/verify/{token}", response_class=HTMLResponse)
def verify_form(request: Request, services: ServicesDep, token: str) -> HTMLResponse:
    """A GET only shows the button: mail scanners open links, and must not use them up."""
    link, why = services.control.people.peek_link(token, "verify")
    if link is None:
        return _page(
            request,
            410 if why != "unknown" else 404,
            title="Confirm your address",
            error=accounts.link_problem("verify", why),
            again="/signup",
        )
    return _page(request, title="Confirm your address", form="verify", token=token, email=link.email)


@router.post("/verify/{token}")
async def verify(request: Request, services: ServicesDep, token: str) -> Response:
    if not same_origin(request):
        return _page(request, 403, title="Confirm your address", error=_FOREIGN)
    try:
        signed = await run_in_threadpool(accounts.finish_sign_up, services, token)
    except SignInRefused as exc:
        return _page(request, 410, title="Confirm your address", error=str(exc), again="/signup")
    return _signed_in(services, signed.user_id, "/onboarding" if signed.created and not signed.invited else "/")


@router.post("/login/password")
async def password_login(
    request: Request,
    services: ServicesDep,
    email: str = Form("", max_length=320),
    password: str = Form("", max_length=1024),
    next: str = Form("/", max_length=2048),
) -> Response:
    if not same_origin(request):
        return sign_in_form(request, services, 403, next, _FOREIGN)
    try:
        user = await run_in_threadpool(accounts.password_sign_in, services, client_address(request), email, password)
    except ServiceError as exc:
        limited = sign_in_form(request, services, exc.status, next, str(exc.detail))
        limited.headers["Retry-After"] = str(getattr(exc, "retry_after_s", 60))
        return limited
    except SignInRefused as exc:
        return sign_in_form(request, services, 401, next, str(exc))
    return _signed_in(services, user.id, next)


@router.get("/reset", response_class=HTMLResponse)
def reset_form(request: Request) -> HTMLResponse:
    return _page(request, title="Reset your password", form="reset")


@router.post("/reset", response_class=HTMLResponse)
async def reset(request: Request, services: ServicesDep, email: str = Form("", max_length=320)) -> HTMLResponse:
    if not same_origin(request):
        return _page(request, 403, title="Reset your password", form="reset", error=_FOREIGN)
    try:
        await run_in_threadpool(accounts.start_reset, services, email)
    except ServiceError as exc:
        return _page(request, exc.status, title="Reset your password", form="reset", error=str(exc.detail))
    return _page(
        request,
        title="Check your e-mail",
        notice="If an account uses this address, we sent it a link to reset the password.",
    )


@router.get("/reset/{token}", response_class=HTMLResponse)
def new_password_form(request: Request, services: ServicesDep, token: str) -> HTMLResponse:
    link, why = services.control.people.peek_link(token, "reset")
    if link is None:
        return _page(
            request,
            410 if why != "unknown" else 404,
            title="Reset your password",
            error=accounts.link_problem("reset", why),
            again="/reset",
        )
    return _page(request, title="Choose a new password", form="new_password", token=token)


@router.post("/reset/{token}")
async def new_password(
    request: Request, services: ServicesDep, token: str, password: str = Form("", max_length=1024)
) -> Response:
    if not same_origin(request):
        return _page(request, 403, title="Choose a new password", form="new_password", token=token, error=_FOREIGN)
    try:
        user = await run_in_threadpool(accounts.finish_reset, services, token, password)
    except ServiceError as exc:
        return _page(
            request, exc.status, title="Choose a new password", form="new_password", token=token, error=str(exc.detail)
        )
    except SignInRefused as exc:
        return _page(request, 410, title="Reset your password", error=str(exc), again="/reset")
    return _signed_in(services, user.id)
