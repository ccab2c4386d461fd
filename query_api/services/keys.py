"""API keys of a tenant: create (shown once), list (prefix only), revoke (effective at once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmobserve.control import ControlStore, KeyInfo, Principal

from ..schemas.keys import KeyCreate, KeyCreated, KeyPublic, KeysPublic
from .errors import NotFound
from .people import Forbidden, actor

if TYPE_CHECKING:
    from ._services import Services

__all__ = ["create_key", "list_keys", "public", "revoke_key"]


def public(info: KeyInfo) -> KeyPublic:
    return KeyPublic(
        key_id=info.key_id,
        prefix=info.prefix,
        scopes=list(info.scopes),
        name=info.name,
        created_at=info.created_at,
        revoked=info.revoked,
    )


def create_key(control: ControlStore, principal: Principal, body: KeyCreate) -> KeyCreated:
    """A member (not an admin) may make ingest-only keys: what an app needs to send spans."""
    if not principal.allows("admin") and set(body.scopes) != {"ingest"}:
        raise Forbidden('your role may create ingest keys only (scopes: ["ingest"])')
    tenant = principal.tenant
    key, key_id = control.create_key(tenant, tuple(body.scopes), body.name, created_by=principal.user_id)
    info = next(k for k in control.list_keys(tenant) if k.key_id == key_id)
    control.people.audit(tenant, actor(principal), "key.create", key_id, scopes=list(info.scopes), name=info.name)
    return KeyCreated(key=key, **public(info).model_dump())


def list_keys(control: ControlStore, tenant: str) -> KeysPublic:
    keys = [public(k) for k in control.list_keys(tenant)]
    return KeysPublic(data=keys, count=len(keys))


def revoke_key(svc: Services, principal: Principal, key_id: str) -> None:
    if not svc.control.revoke_key(principal.tenant, key_id):
        raise NotFound(f"no key {key_id!r}")
    svc.authenticator.forget_key_id(key_id)
    svc.control.people.audit(principal.tenant, actor(principal), "key.revoke", key_id)
