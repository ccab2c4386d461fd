from __future__ import annotations

from fastapi import APIRouter, Request

from ..deps import StoreDep
from ..models import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness and storage reachability")
def healthz(store: StoreDep, request: Request) -> Health:
    store.client.query("SELECT 1")
    maintainer = getattr(request.app.state, "maintainer", None)
    return Health(status="ok", storage=store.config.describe(),
                  rollups_pending=maintainer.pending if maintainer is not None else None)
