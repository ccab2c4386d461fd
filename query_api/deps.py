"""Request dependencies: the services, and the principal behind the bearer key.

The tenant of every read comes from here, never from a query, path or body parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from llmobserve.control import KEY_CHECKS, MISS, LookupsBusy, Principal, bearer_token
from llmobserve.storage import Store

from ._strict import reject_unknown_query_params
from .services import Services

__all__ = ["AdminPrincipal", "ReadPrincipal", "SenderPrincipal", "ServicesDep", "StoreDep", "get_services", "require"]


def get_services(request: Request) -> Services:
    """The one place a handler's state comes from: what ``create_app`` was given."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_store(services: ServicesDep) -> Store:
    return services.store


StoreDep = Annotated[Store, Depends(get_store)]


def _principal(request: Request, services: Services) -> Principal:
    token = bearer_token(request.headers.get("authorization"))
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
            raise HTTPException(403, f"this API key lacks the {' or '.join(repr(s) for s in scopes)} scope")
        reject_unknown_query_params(request)  # after auth: a caller without a key learns nothing
        return principal

    return dependency


ReadPrincipal = Annotated[Principal, Depends(require("read"))]
AdminPrincipal = Annotated[Principal, Depends(require("admin"))]
SenderPrincipal = Annotated[Principal, Depends(require("ingest", "read"))]
"""The key an instrumented app holds (ingest) may ask where its caps stand, as may a reader."""
