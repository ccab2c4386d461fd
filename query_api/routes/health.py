from __future__ import annotations

from fastapi import APIRouter, Request, Response

from llmobserve.control import bearer_token

from ..deps import ServicesDep
from ..schemas.health import Health
from ..services import Services

router = APIRouter(tags=["health"])


def _is_admin(request: Request, svc: Services) -> bool:
    token = bearer_token(request.headers.get("authorization"))
    try:
        principal = svc.authenticator.principal(token)
    except Exception:  # storage down: the probe still answers, without details
        return False
    return principal is not None and principal.allows("admin")


@router.get(
    "/healthz",
    response_model=Health,
    response_model_exclude_unset=True,
    summary="Liveness and storage reachability; where storage lives only with an admin key",
    responses={503: {"model": Health, "description": "storage does not answer"}},
)
def healthz(svc: ServicesDep, request: Request, response: Response) -> Health:
    # Public on purpose (probes carry no key), so it names no host and no path unless an admin asks.
    up = svc.store.ping()
    maintainer = svc.maintainer
    health = Health(
        status="ok" if up else "unavailable",
        storage="ok" if up else "unavailable",
        rollups_pending=maintainer.pending if maintainer is not None else None,
    )
    if not up:
        response.status_code = 503
    elif _is_admin(request, svc):
        health.storage_backend = svc.store.config.describe()
    return health
