from __future__ import annotations

from fastapi import APIRouter

from ..deps import StoreDep
from ..models import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness and storage reachability")
def healthz(store: StoreDep) -> Health:
    store.client.query("SELECT 1")
    return Health(status="ok", storage=store.config.describe())
