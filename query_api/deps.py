"""Request dependencies: the services, and the principal behind the bearer key.

The tenant of every read comes from here, never from a query, path or body parameter.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from llmobserve.control import KEY_CHECKS, MISS, LookupsBusy, Principal, bearer_token
from llmobserve.storage import Store

from ._strict import reject_unknown_query_params
from .services import Services, Session
from .services.sessions import cookie_name

__all__ = [
    "AdminPrincipal",
    "ReadPrincipal",
    "SenderPrincipal",
    "ServicesDep",
    "StoreDep",
    "get_services",
    "require",
    "session_principal",
]


def get_services(request: Request) -> Services:
    """The one place a handler's state comes from: what ``create_app`` was given."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_store(services: ServicesDep) -> Store:
    return services.store


StoreDep = Annotated[Store, Depends(get_store)]


_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def session_principal(services: Services, session: Session) -> Principal | None:
    """Whom the session acts for now, checked at every request: a person by their membership (a
    removed member or a demoted admin has lost it at their next request), a key by its id (the
    session holds no secret; revoking a key also deletes its sessions) while key sign-in is on."""
    if session.user_id is not None:
        people = services.control.people
        role = people.role(session.tenant, session.user_id)
        user = people.user(session.user_id) if role is not None else None
        return None if role is None or user is None else Principal.person(session.tenant, user.id, role, user.name)
    if session.key_id is None or not services.accounts.key_signin_on(services.control):
        return None
    principal = services.control.key_owner(session.key_id)
    if principal is None or principal.tenant != session.tenant or not principal.allows("read"):
        return None
    return principal


def _person(request: Request, services: Services) -> Principal | None:
    """A dashboard session's principal, for the API called from a signed-in browser. A change must
    carry the session's CSRF token in ``X-CSRF-Token`` (a cookie alone rides on any cross-site request)."""
    session = services.sessions.get(request.cookies.get(cookie_name(services.public_url)[0], ""))
    if session is None:
        return None
    if request.method not in _SAFE and not hmac.compare_digest(
        request.headers.get("x-csrf-token", "").encode(), session.csrf.encode()
    ):
        raise HTTPException(403, "a change made with a session cookie needs its CSRF token in X-CSRF-Token")
    return session_principal(services, session)


def _principal(request: Request, services: Services) -> Principal:
    token = bearer_token(request.headers.get("authorization"))
    if token is None and "authorization" not in request.headers:
        person = _person(request, services)
        if person is not None:
            return person
    if token is None:
        raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>'", {"WWW-Authenticate": "Bearer"})
    found = KEY_CHECKS.cached(services.authenticator, token)
    try:
        # a lookup waits its turn: the process-wide bound keeps a flood of random keys from queueing
        # storage queries ahead of everyone's (shared with OTLP; see storage's KeyChecks)
        principal = KEY_CHECKS.resolve(services.authenticator, token) if found is MISS else found
    except LookupsBusy as exc:
        raise HTTPException(503, str(exc), {"Retry-After": "1"}) from None
    if principal is None:
        raise HTTPException(401, "unknown or revoked API key", {"WWW-Authenticate": "Bearer"})
    return principal


def require(*scopes: str) -> Callable[[Request, Services], Principal]:
    """A dependency that authenticates and demands one of ``scopes`` (admin implies every scope)."""

    def dependency(request: Request, services: ServicesDep) -> Principal:
        principal = _principal(request, services)
        if not any(principal.allows(scope) for scope in scopes):
            if principal.role is not None:
                raise HTTPException(403, f"your role ({principal.role}) in this workspace does not allow this")
            raise HTTPException(403, f"this API key lacks the {' or '.join(repr(s) for s in scopes)} scope")
        reject_unknown_query_params(request)  # after auth: a caller without a key learns nothing
        return principal

    return dependency


ReadPrincipal = Annotated[Principal, Depends(require("read"))]
AdminPrincipal = Annotated[Principal, Depends(require("admin"))]
SenderPrincipal = Annotated[Principal, Depends(require("ingest", "read"))]
"""The key an instrumented app holds (ingest) may ask where its caps stand, as may a reader."""
