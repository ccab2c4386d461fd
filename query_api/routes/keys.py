from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from llmobserve.control import Principal

from ..deps import AdminPrincipal, ServicesDep, require
from ..schemas.keys import KeyCreate, KeyCreated, KeysPublic
from ..services import keys

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])


@router.post("", response_model=KeyCreated, status_code=201, summary="Create an API key for your tenant (shown once)")
def create_key(
    body: KeyCreate, principal: Annotated[Principal, Depends(require("admin", "keys.ingest"))], svc: ServicesDep
) -> KeyCreated:
    return keys.create_key(svc.control, principal, body)


@router.get("", response_model=KeysPublic, summary="Your tenant's keys (prefix only, never the key)")
def list_keys(principal: AdminPrincipal, svc: ServicesDep) -> KeysPublic:
    return keys.list_keys(svc.control, principal.tenant)


@router.delete("/{key_id}", status_code=204, summary="Revoke a key; effective at once")
def revoke_key(key_id: str, principal: AdminPrincipal, svc: ServicesDep) -> Response:
    keys.revoke_key(svc, principal, key_id)
    return Response(status_code=204)
