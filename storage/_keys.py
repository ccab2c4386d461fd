"""Tenants and API keys. A key is shown once; only its SHA-256 is stored.

Keys carry 192 random bits, so a fast hash is enough: there is nothing to brute-force that a
slow password hash would protect (unlike user-chosen passwords).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

from ._exceptions import StorageError

__all__ = [
    "SCOPES",
    "DEFAULT_SCOPES",
    "KEY_PREFIX",
    "InvalidTenantError",
    "KeyInfo",
    "Principal",
    "create_key",
    "ensure_tenant",
    "hash_key",
    "list_keys",
    "lookup_key",
    "revoke_key",
    "tenant_count",
    "validate_tenant",
]

SCOPES = ("ingest", "read", "admin")
DEFAULT_SCOPES = ("ingest", "read")
KEY_PREFIX = "llmo_"
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


class InvalidTenantError(StorageError, ValueError):
    """A tenant name outside [A-Za-z0-9_.-], or longer than 64 characters."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: the tenant comes from the key, never from the request."""

    tenant: str
    scopes: frozenset[str]
    key_id: str

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def validate_tenant(tenant: str) -> str:
    if not _TENANT_RE.match(tenant):
        raise InvalidTenantError(
            f"tenant name {tenant!r} is invalid: use 1-64 characters from A-Z a-z 0-9 _ . - "
            "(starting with a letter or digit)"
        )
    return tenant


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> tuple[datetime, int]:
    """Wall time for created_at, and the ns clock as the ReplacingMergeTree version."""
    ns = time.time_ns()
    return datetime.fromtimestamp(ns / 1e9, tz=UTC), ns


def ensure_tenant(client: Client, tenant: str) -> bool:
    """Create the tenant if missing; returns True when it was created."""
    validate_tenant(tenant)
    found = client.query("SELECT count() FROM tenants WHERE tenant = {t:String}", parameters={"t": tenant}).result_rows[
        0
    ][0]
    if found:
        return False
    now, version = _now()
    client.insert("tenants", [[tenant, now, version]], column_names=["tenant", "created_at", "version"])
    return True


def tenant_count(client: Client) -> int:
    return int(client.query("SELECT uniqExact(tenant) FROM tenants").result_rows[0][0])


def create_key(
    client: Client, tenant: str, scopes: tuple[str, ...] = DEFAULT_SCOPES, name: str = ""
) -> tuple[str, str]:
    """Create a key for ``tenant`` (created if missing). Returns (key, key_id); the key is not stored."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}")
    ensure_tenant(client, tenant)
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(24)}"
    now, version = _now()
    client.insert(
        "api_keys",
        [[tenant, key_id, hash_key(key), sorted(set(scopes)), name, now, False, version]],
        column_names=["tenant", "key_id", "key_hash", "scopes", "name", "created_at", "revoked", "version"],
    )
    return key, key_id


def lookup_key(client: Client, key: str) -> Principal | None:
    """The principal for a presented key, or None if unknown or revoked."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    rows = client.query(
        "SELECT tenant, key_id, scopes, revoked FROM api_keys FINAL WHERE key_hash = {h:String}",
        parameters={"h": hash_key(key)},
    ).result_rows
    if not rows or rows[0][3]:
        return None
    tenant, key_id, scopes, _ = rows[0]
    return Principal(tenant=tenant, scopes=frozenset(scopes), key_id=key_id)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown about a key after creation: never the key itself."""

    key_id: str
    prefix: str
    scopes: tuple[str, ...]
    name: str
    created_at: datetime
    revoked: bool


def list_keys(client: Client, tenant: str) -> list[KeyInfo]:
    rows = client.query(
        "SELECT key_id, scopes, name, created_at, revoked FROM api_keys FINAL WHERE tenant = {t:String} "
        "ORDER BY created_at",
        parameters={"t": tenant},
    ).result_rows
    return [
        KeyInfo(kid, f"{KEY_PREFIX}{kid}_", tuple(scopes), name, created, bool(revoked))
        for kid, scopes, name, created, revoked in rows
    ]


def revoke_key(client: Client, tenant: str, key_id: str) -> bool:
    """Mark the key revoked (a newer version of its row); False if the tenant has no such key."""
    rows = client.query(
        "SELECT key_hash, scopes, name, created_at FROM api_keys FINAL "
        "WHERE tenant = {t:String} AND key_id = {k:String}",
        parameters={"t": tenant, "k": key_id},
    ).result_rows
    if not rows:
        return False
    key_hash, scopes, name, created = rows[0]
    _, version = _now()
    client.insert(
        "api_keys",
        [[tenant, key_id, key_hash, list(scopes), name, created, True, version]],
        column_names=["tenant", "key_id", "key_hash", "scopes", "name", "created_at", "revoked", "version"],
    )
    return True
