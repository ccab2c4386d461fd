"""Sign in with an API key, sign out, and what a page does when nobody is signed in."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from llmobserve.query_api.deps import ServicesDep

from ._web import COOKIE, check_csrf, render

router = APIRouter(include_in_schema=False)

_SESSION_S = 7 * 86400


def _safe_next(target: str) -> str:
    """Only a path on this site: ``next`` must not send a signed-in user elsewhere (open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", title="Sign in", next=_safe_next(next), error=None)


@router.post("/login")
def login(
    request: Request, services: ServicesDep, key: str = Form("", max_length=512), next: str = Form("/", max_length=2048)
) -> Response:
    principal = services.authenticator.principal(key.strip()) if key.strip() else None
    if principal is None or not principal.allows("read"):
        error = (
            "This key is not valid (unknown or revoked)."
            if principal is None
            else "This key cannot read: use a key with the read or admin scope."
        )
        return render(request, "login.html", status_code=401, title="Sign in", next=_safe_next(next), error=error)
    session = services.sessions.create(key.strip(), principal.tenant)
    response = RedirectResponse(_safe_next(next), status_code=303)
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(
        COOKIE, session.id, max_age=_SESSION_S, httponly=True, samesite="strict", secure=secure, path="/"
    )
    return response


@router.post("/logout")
async def logout(request: Request, services: ServicesDep) -> Response:
    session = services.sessions.get(request.cookies.get(COOKIE, ""))
    if session is not None:
        await check_csrf(request, session)
        services.sessions.delete(session.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
