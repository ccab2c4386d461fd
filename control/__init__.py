"""The control plane: every record a person or the product edits (workspaces, API keys as hashes,
caps, alert history, custom prices, settings, e-mail recipients, dashboard sessions, leases), in
SQL through SQLAlchemy 2 and Alembic; billing's subscriptions, Stripe events, promo codes and usage too. SQLite in the data dir by default (``control.db``);
PostgreSQL by ``LLMOBSERVE_DATABASE_URL``. Spans stay in ClickHouse (``llmobserve.storage``)."""

from __future__ import annotations

from ._auth import Authenticator, bearer_token
from ._billing import Account, BillingRecords, PromoCode, PromoRefused, Subscription, add_months, promo_hash
from ._engine import ControlConfigError, default_url, is_sqlite
from ._engine import describe as describe_control
from ._key_checks import KEY_CHECKS, MISS, KeyChecks, LookupsBusy, Miss
from ._ledger import Hold, LedgerTx, OpenReservation
from ._links import Flow, Link
from ._migrate import HEAD
from ._people import FIRST_OWNER, INVITATION_PROBLEMS, People, SignIn, SignInRefused
from ._records import (
    DEFAULT_SCOPES,
    KEY_PREFIX,
    MAX_CAPS,
    ROLE_SCOPES,
    ROLES,
    SCOPES,
    AuditEntry,
    InvalidTenantError,
    Invitation,
    KeyInfo,
    Member,
    Principal,
    Recipient,
    StoredAlert,
    StoredCap,
    StoredPrice,
    User,
    hash_secret,
    new_cap_id,
    new_webhook_secret,
    price_id,
    role_rank,
    validate_tenant,
)
from ._sessions import SessionRow
from ._store import ATTRIBUTION, DETECT_DUPLICATES, ControlStore, ControlUnavailable

__all__ = [
    "ATTRIBUTION",
    "Account",
    "AuditEntry",
    "Authenticator",
    "BillingRecords",
    "ControlConfigError",
    "ControlStore",
    "ControlUnavailable",
    "DEFAULT_SCOPES",
    "DETECT_DUPLICATES",
    "FIRST_OWNER",
    "Flow",
    "HEAD",
    "Hold",
    "INVITATION_PROBLEMS",
    "InvalidTenantError",
    "Invitation",
    "KEY_CHECKS",
    "KEY_PREFIX",
    "KeyChecks",
    "KeyInfo",
    "LedgerTx",
    "Link",
    "LookupsBusy",
    "MAX_CAPS",
    "MISS",
    "Member",
    "Miss",
    "OpenReservation",
    "People",
    "Principal",
    "PromoCode",
    "PromoRefused",
    "ROLES",
    "ROLE_SCOPES",
    "Recipient",
    "SCOPES",
    "SessionRow",
    "SignIn",
    "SignInRefused",
    "StoredAlert",
    "StoredCap",
    "StoredPrice",
    "Subscription",
    "User",
    "add_months",
    "bearer_token",
    "default_url",
    "describe_control",
    "hash_secret",
    "is_sqlite",
    "new_cap_id",
    "new_webhook_secret",
    "price_id",
    "promo_hash",
    "role_rank",
    "validate_tenant",
]
