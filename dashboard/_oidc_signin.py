"""Sign-in with an OpenID Connect provider, and the invitation links that lead to it.

The flow: ``/login/oidc/<name>`` stores a new ``state``, ``nonce`` and PKCE verifier in the control
store, bound to this browser by a cookie whose hash is kept, and sends the browser to the provider;
``/auth/oidc/<name>/callback`` takes that flow back once (a wrong or replayed ``state``, or another
browser's, ends here), trades the code for an ID token and verifies it (``services.oidc``). Only
then is anything created: the user, on first sign-in, and their workspace or invited membership.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from llmobserve.control import INVITATION_PROBLEMS, Flow, SignInRefused
from llmobserve.query_api.deps import ServicesDep
from llmobserve.query_api.services import Services
from llmobserve.query_api.services.oidc import OidcClient, OidcError

from ._signin import SESSION_S, safe_next, sign_in_form
from ._web import session_cookie

router = APIRouter(include_in_schema=False)

_FLOW_COOKIE = "llmo_oidc"
_FLOW_S = 600


def _callback_url(services: Services, name: str) -> str:
    return f"{services.public_url.rstrip('/')}/auth/oidc/{name}/callback"


@router.get("/login/oidc/{name}")
def start(
    request: Request, services: ServicesDep, name: str, next: str = "/", invitation: str | None = None
) -> Response:
    client = services.accounts.oidc.get(name)
    if client is None:
        return sign_in_form(request, services, 404, next, f"There is no sign-in provider named {name!r} here.")
    state, nonce, verifier, browser = (secrets.token_urlsafe(32) for _ in range(4))
    try:
        url = client.authorize_url(_callback_url(services, name), state, nonce, verifier)
    except OidcError as exc:
        return sign_in_form(request, services, 502, next, str(exc), invitation)
    services.control.people.start_flow(state, browser, Flow(name, nonce, verifier, safe_next(next), invitation))
    response = RedirectResponse(url, status_code=303)
    # Lax, not Strict: the provider sends the browser back with a cross-site navigation.
    response.set_cookie(
        _FLOW_COOKIE,
        browser,
        max_age=_FLOW_S,
        httponly=True,
        samesite="lax",
        secure=session_cookie(services)[1],
        path="/auth/oidc/",
    )
    return response


@router.get("/auth/oidc/{name}/callback")
def callback(
    request: Request, services: ServicesDep, name: str, code: str = "", state: str = "", error: str = ""
) -> Response:
    browser = request.cookies.get(_FLOW_COOKIE, "")
    flow = services.control.people.take_flow(state, browser) if state and browser else None
    client = services.accounts.oidc.get(name)
    if flow is None or client is None or flow.provider != name:
        return _refused(
            request, services, 400, "This sign-in expired or was not started in this browser. Sign in again."
        )
    if error or not code:
        return _refused(request, services, 400, f"{client.provider.title} did not sign you in ({error or 'no code'}).")
    try:
        claims = client.verify(client.exchange(code, _callback_url(services, name), flow.code_verifier), flow.nonce)
    except OidcError as exc:
        return _refused(request, services, 401, f"Sign-in refused: {exc}")
    email = _verified_email(claims)
    if not _domain_allowed(client, email):
        return _refused(
            request, services, 403, f"{client.provider.title} accounts of this e-mail domain may not sign in here."
        )
    try:
        signed = services.control.people.sign_in_oidc(
            client.provider.issuer,
            str(claims["sub"]),
            name,
            email,
            str(claims.get("name") or email or ""),
            services.accounts.signup,
            flow.invitation,
        )
    except SignInRefused as exc:
        return _refused(request, services, 403, str(exc))
    if signed.workspace is None:
        return _refused(
            request, services, 403, "You are not a member of any workspace here. Ask an owner for an invitation."
        )
    session = services.sessions.create_person(signed.user_id, signed.workspace)
    # A new person in a workspace of their own starts with onboarding; an invited one where asked.
    first = signed.created and not signed.invited
    response = RedirectResponse("/onboarding" if first else flow.next, status_code=303)
    cookie, secure = session_cookie(services)
    response.set_cookie(
        cookie, session.id, max_age=SESSION_S, httponly=True, samesite="strict", secure=secure, path="/"
    )
    response.delete_cookie(_FLOW_COOKIE, path="/auth/oidc/", secure=secure, httponly=True, samesite="lax")
    return response


@router.get("/invite/{token}", response_class=HTMLResponse)
def invitation(request: Request, services: ServicesDep, token: str) -> HTMLResponse:
    found = services.control.people.invitation(token)
    why = "unknown" if found is None else found.status()
    if why != "pending":
        return sign_in_form(request, services, 410 if why != "unknown" else 404, "/", INVITATION_PROBLEMS[why])
    return sign_in_form(request, services, 200, "/", None, token)


def _verified_email(claims: dict[str, object]) -> str | None:
    """The e-mail, if the provider says it verified it: kept for messages, never used to find a user."""
    email = claims.get("email")
    return email.lower() if isinstance(email, str) and claims.get("email_verified") is True else None


def _domain_allowed(client: OidcClient, email: str | None) -> bool:
    allowed = client.provider.allowed_domains
    return not allowed or (email is not None and email.rsplit("@", 1)[-1] in allowed)


def _refused(request: Request, services: Services, status: int, message: str) -> HTMLResponse:
    return sign_in_form(request, services, status, "/", message)
