"""Request dependencies: the store, and the principal behind the bearer key.

The tenant of every read comes from here, never from a query, path or body parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from llmobserve.storage import Authenticator, Principal, Store, bearer_token

from ._strict import reject_unknown_query_params

__all__ = ["StoreDep", "require", "ReadPrincipal", "AdminPrincipal", "SenderPrincipal"]


def get_store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


StoreDep = Annotated[Store, Depends(get_store)]


def _principal(request: Request) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>'", {"WWW-Authenticate": "Bearer"})
    principal = authenticator.principal(token)
    if principal is None:
        raise HTTPException(401, "unknown or revoked API key", {"WWW-Authenticate": "Bearer"})
    return principal


def require(*scopes: str) -> Callable[[Request], Principal]:
    """A dependency that authenticates and demands one of ``scopes`` (admin implies every scope)."""

    def dependency(request: Request) -> Principal:
        principal = _principal(request)
        if not any(principal.allows(scope) for scope in scopes):
            raise HTTPException(403, f"this API key lacks the {' or '.join(repr(s) for s in scopes)} scope")
        reject_unknown_query_params(request)  # after auth: a caller without a key learns nothing
        return principal

    return dependency


ReadPrincipal = Annotated[Principal, Depends(require("read"))]
AdminPrincipal = Annotated[Principal, Depends(require("admin"))]
SenderPrincipal = Annotated[Principal, Depends(require("ingest", "read"))]
"""The key an instrumented app holds (ingest) may ask where its caps stand, as may a reader."""
