"""What the control store holds, as plain frozen records (no SQLAlchemy): the API, the caps and the
dashboard pass these around without touching the database."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

__all__ = [
    "AuditEntry",
    "DEFAULT_SCOPES",
    "InvalidTenantError",
    "Invitation",
    "KEY_PREFIX",
    "KeyInfo",
    "MAX_CAPS",
    "Member",
    "Principal",
    "ROLES",
    "ROLE_SCOPES",
    "Recipient",
    "SCOPES",
    "StoredAlert",
    "StoredCap",
    "StoredPrice",
    "User",
    "hash_secret",
    "new_cap_id",
    "new_webhook_secret",
    "price_id",
    "role_rank",
    "validate_tenant",
]

SCOPES = ("ingest", "read", "admin")
DEFAULT_SCOPES = ("ingest", "read")
KEY_PREFIX = "llmo_"
MAX_CAPS = 10_000
"""Per workspace: a SaaS's per-customer needs are one ``each_customer`` template, not a cap per customer."""
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


class InvalidTenantError(ValueError):
    """A workspace name outside [A-Za-z0-9_.-], or longer than 64 characters."""


def validate_tenant(tenant: str) -> str:
    if not _TENANT_RE.match(tenant):
        raise InvalidTenantError(
            f"tenant name {tenant!r} is invalid: use 1-64 characters from A-Z a-z 0-9 _ . - "
            "(starting with a letter or digit)"
        )
    return tenant


def hash_secret(secret: str) -> str:
    """SHA-256: keys, session ids and link tokens carry >= 192 random bits, so a fast hash is
    enough (there is nothing to brute-force that a slow password hash would protect)."""
    return hashlib.sha256(secret.encode()).hexdigest()


ROLES = ("viewer", "member", "admin", "owner")
"""A person's roles in a workspace, each allowed what the one before is and more."""
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "member": frozenset({"read", "ingest", "keys.ingest"}),
    "admin": frozenset({"read", "ingest", "keys.ingest", "admin"}),
    "owner": frozenset({"read", "ingest", "keys.ingest", "admin", "owner"}),
}
"""What each role may do: ``keys.ingest`` makes ingest keys, ``admin`` manages caps, keys, prices and
settings, ``owner`` also members and billing. An API key with the ``admin`` scope may do everything."""


def role_rank(role: str) -> int:
    return ROLES.index(role)


@dataclass(frozen=True, slots=True)
class Principal:
    """Whom a request acts for: a key (its workspace comes from the key) or a person (``user_id``,
    with their ``role`` in the session's workspace), never anything the request names."""

    tenant: str
    scopes: frozenset[str]
    key_id: str  # "" for a person
    user_id: str | None = None
    role: str | None = None
    name: str = ""  # who, for the audit log

    @classmethod
    def person(cls, tenant: str, user_id: str, role: str, name: str) -> Principal:
        return cls(tenant, ROLE_SCOPES[role], "", user_id, role, name)

    def allows(self, scope: str) -> bool:
        if self.role is not None:
            return scope in self.scopes
        return "admin" in self.scopes or scope in self.scopes

    @property
    def actor(self) -> str:
        return f"user:{self.user_id}" if self.user_id else f"key:{self.key_id}"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    email: str | None
    login_email: str | None  # set for an account that signs in with a password
    has_password: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Member:
    workspace: str
    user_id: str
    name: str
    email: str | None
    role: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Invitation:
    id: str
    workspace: str
    email: str
    role: str
    invited_by: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None

    def status(self, now: datetime | None = None) -> str:
        """ "pending", "used", "revoked" or "expired"."""
        if self.accepted_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= (now or datetime.now(UTC)) else "pending"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    actor_name: str
    action: str
    target: str
    detail: dict[str, object]


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown about a key after creation: never the key itself."""

    key_id: str
    prefix: str
    scopes: tuple[str, ...]
    name: str
    created_at: datetime
    revoked: bool


@dataclass(frozen=True, slots=True)
class StoredCap:
    cap_id: str
    name: str
    scope: str
    value: str
    period: str
    time_zone: str
    limit_usd: Decimal
    thresholds: tuple[Decimal, ...]
    enforcement: str
    recipients: tuple[str, ...]
    webhooks: tuple[str, ...]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    webhook_secret: str = field(default="", repr=False)  # kept out of logs
    """Signs the cap's webhook payloads; ``put_cap`` gives a cap without one a new one."""


def new_cap_id() -> str:
    return "cap_" + secrets.token_hex(8)


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class StoredAlert:
    alert_id: str
    cap_id: str
    cap_name: str
    scope: str
    subject: str  # the scope's value, or the customer of an each_customer cap
    threshold: Decimal
    spend_usd: Decimal
    limit_usd: Decimal
    period: str
    period_start: datetime
    resets_at: datetime | None
    fired_at: datetime
    test: bool = False
    delivered: bool = False
    deliveries: tuple[dict[str, object], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class StoredPrice:
    price_id: str
    provider: str
    model: str
    is_regex: bool
    effective_from: datetime
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cache_read_per_mtok: Decimal | None
    cache_write_per_mtok: Decimal | None
    reasoning_per_mtok: Decimal | None
    source: str
    updated_at: datetime


def price_id(provider: str, model: str, is_regex: bool, effective_from: datetime) -> str:
    """Derived from what the rule matches and when it starts: PUTting the same rule again replaces it."""
    key = f"{provider}\x00{model}\x00{int(is_regex)}\x00{effective_from.astimezone(UTC).isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Recipient:
    """An alert e-mail address of a workspace: it gets alerts only once it has confirmed."""

    tenant: str
    address: str  # lower-cased
    token_hash: str  # of the newest link; "" when none was sent
    requested_at: datetime | None  # when the newest link was sent
    confirmed_at: datetime | None
    sends: tuple[datetime, ...] = ()  # confirmation e-mails of the last day
