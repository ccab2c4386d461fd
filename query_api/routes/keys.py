from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from llmobserve.storage import KeyInfo

from ..deps import AdminPrincipal, StoreDep
from ..models import KeyCreate, KeyCreated, KeyPublic, KeysPublic

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])


def _public(info: KeyInfo) -> KeyPublic:
    return KeyPublic(key_id=info.key_id, prefix=info.prefix, scopes=list(info.scopes), name=info.name,
                     created_at=info.created_at, revoked=info.revoked)


@router.post("", response_model=KeyCreated, status_code=201, summary="Create an API key for your tenant (shown once)")
def create_key(body: KeyCreate, principal: AdminPrincipal, store: StoreDep) -> KeyCreated:
    key, key_id = store.create_key(principal.tenant, tuple(body.scopes), body.name)
    info = next(k for k in store.list_keys(principal.tenant) if k.key_id == key_id)
    return KeyCreated(key=key, **_public(info).model_dump())


@router.get("", response_model=KeysPublic, summary="Your tenant's keys (prefix only, never the key)")
def list_keys(principal: AdminPrincipal, store: StoreDep) -> KeysPublic:
    keys = [_public(k) for k in store.list_keys(principal.tenant)]
    return KeysPublic(data=keys, count=len(keys))


@router.delete("/{key_id}", status_code=204, summary="Revoke a key; effective at once")
def revoke_key(key_id: str, principal: AdminPrincipal, store: StoreDep, request: Request) -> Response:
    if not store.revoke_key(principal.tenant, key_id):
        raise HTTPException(404, f"no key {key_id!r}")
    request.app.state.authenticator.forget_key_id(key_id)
    return Response(status_code=204)
