"""Request dependencies: the store, and the principal behind the bearer key.

The tenant of every read comes from here, never from a query, path or body parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from llmobserve.storage import Authenticator, Principal, Store, bearer_token

from ._strict import reject_unknown_query_params

__all__ = ["StoreDep", "require", "ReadPrincipal", "AdminPrincipal"]


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


def require(scope: str) -> Callable[[Request], Principal]:
    """A dependency that authenticates and demands ``scope`` (admin implies every scope)."""

    def dependency(request: Request) -> Principal:
        principal = _principal(request)
        if not principal.allows(scope):
            raise HTTPException(403, f"this API key lacks the '{scope}' scope")
        reject_unknown_query_params(request)  # after auth: a caller without a key learns nothing
        return principal

    return dependency


ReadPrincipal = Annotated[Principal, Depends(require("read"))]
AdminPrincipal = Annotated[Principal, Depends(require("admin"))]
