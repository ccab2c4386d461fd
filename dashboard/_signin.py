"""Sign in with an API key, sign out, and what a page does when nobody is signed in."""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from llmobserve.query_api.deps import ServicesDep, get_services
from llmobserve.query_api.services import Services

from ._web import check_csrf, render, same_origin, session_cookie

router = APIRouter(include_in_schema=False)

SESSION_S = 7 * 86400
# "llmo_" and the 12 hex digits of the key's id: what a key listing shows, never the secret after it.
_KEY_NAME_CHARS = 17


def safe_next(target: str) -> str:
    """Only a path on this site: ``next`` must not send a signed-in user elsewhere (open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def client_address(request: Request) -> str:
    """The peer's address (no trusted-proxy setting exists, so X-Forwarded-For is not believed);
    an IPv6 client is counted by its /64, which one host commonly holds whole."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return str(ipaddress.ip_network(f"{address}/64", strict=False)) if address.version == 6 else str(address)


def sign_in_form(
    request: Request,
    services: Services,
    status: int,
    next: str,
    error: str | None,
    invitation_token: str | None = None,
) -> HTMLResponse:
    """The sign-in page: a button per OpenID Connect provider, and the key form while key sign-in is on."""
    invitation = services.control.people.invitation(invitation_token) if invitation_token else None
    return render(
        request,
        "login.html",
        status_code=status,
        title="Sign in",
        next=safe_next(next),
        error=error,
        providers=[client.provider for client in services.accounts.oidc.values()],
        key_signin=services.accounts.key_signin_on(services.control),
        # Accounts are made and reset through e-mailed links: without e-mail there are none to offer.
        passwords=services.notifier.email_enabled,
        signup=services.accounts.signup == "open" or invitation_token is not None,
        invitation=invitation if invitation is not None and invitation.status() == "pending" else None,
        invitation_token=invitation_token if invitation is not None else None,
    )


def _form(request: Request, status: int, next: str, error: str | None) -> HTMLResponse:
    return sign_in_form(request, get_services(request), status, next, error)


_NOTICES = {"no-workspace": "You are not a member of any workspace here. Ask an owner for an invitation."}


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, services: ServicesDep, next: str = "/", error: str = "") -> HTMLResponse:
    return sign_in_form(request, services, 200, next, _NOTICES.get(error))


@router.post("/login")
def login(
    request: Request, services: ServicesDep, key: str = Form("", max_length=512), next: str = Form("/", max_length=2048)
) -> Response:
    """A form posted from another site would sign the victim's browser in as the attacker (login
    CSRF): refused. A POST naming neither Origin nor Referer passes, as in ``check_csrf``: browsers
    send Origin with every form POST, so such a request is a script's, which plants nothing in a
    user's browser."""
    if not same_origin(request):
        return _form(request, 403, next, "This sign-in did not come from this dashboard's own page: open /login here.")
    if not services.accounts.key_signin_on(services.control):
        return _form(request, 403, next, "Signing in with an API key is turned off here: use a sign-in button.")
    key, address = key.strip(), client_address(request)
    wait = services.sessions.sign_ins.admit(address, key[:_KEY_NAME_CHARS])
    if wait:
        limited = _form(request, 429, next, f"Too many sign-in attempts. Try again in {wait} seconds.")
        limited.headers["Retry-After"] = str(wait)
        return limited
    principal = services.authenticator.principal(key) if key else None
    if principal is None or not principal.allows("read"):
        error = (
            "This key is not valid (unknown or revoked)."
            if principal is None
            else "This key cannot read: use a key with the read or admin scope."
        )
        return _form(request, 401, next, error)
    services.sessions.sign_ins.succeeded(address)
    session = services.sessions.create(principal.key_id, principal.tenant)
    response = RedirectResponse(safe_next(next), status_code=303)
    name, secure = session_cookie(services)
    response.set_cookie(name, session.id, max_age=SESSION_S, httponly=True, samesite="strict", secure=secure, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, services: ServicesDep) -> Response:
    name, secure = session_cookie(services)
    session = services.sessions.get(request.cookies.get(name, ""))
    if session is not None:
        await check_csrf(request, session)
        services.sessions.delete(session.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="strict")
    return response


@router.post("/workspace")
async def switch_workspace(request: Request, services: ServicesDep) -> Response:
    """A person moves their session to another workspace they belong to."""
    name, _ = session_cookie(services)
    session = services.sessions.get(request.cookies.get(name, ""))
    if session is None or session.user_id is None:
        return RedirectResponse("/login", status_code=303)
    form = await check_csrf(request, session)
    workspace = str(form.get("workspace", ""))
    if services.control.people.role(workspace, session.user_id) is None:
        return RedirectResponse("/", status_code=303)  # not theirs (or no longer): stay where they are
    services.sessions.switch(session, workspace)
    return RedirectResponse("/", status_code=303)
