"""The control-plane tables: every record a person or the product edits (spans stay in ClickHouse).

Money is kept as exact decimal strings (``Numeric`` would round through floats on SQLite), times
as aware UTC, lists as JSON. Names follow the product: a workspace is what the API calls a tenant.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table

from ._metadata import METADATA, when, workspace_column

__all__ = [
    "ALERTS",
    "API_KEYS",
    "CAPS",
    "COUNTERS",
    "CUSTOM_PRICES",
    "HOLDS",
    "LEASES",
    "METADATA",
    "RECIPIENTS",
    "RESERVATIONS",
    "SESSIONS",
    "SETTINGS",
    "SETTLED",
    "UPGRADE_COPIES",
    "WORKSPACES",
]

_when = when
_workspace = workspace_column


WORKSPACES = Table(
    "workspaces",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=True),  # shown to people; None: the id
    _when("created_at"),
    # The ``caps`` counter's value at the workspace's last cap change: the cap monitor asks for the
    # workspaces changed since the value it last saw, so a cap made through another process counts at once.
    Column("caps_version", Integer, nullable=False, server_default="0"),
    Index("ix_workspaces_caps_version", "caps_version"),
)

API_KEYS = Table(
    "api_keys",
    METADATA,
    Column("key_id", String(32), primary_key=True),
    _workspace(),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False),
    Column("name", String(200), nullable=False, default=""),
    _when("created_at"),
    _when("revoked_at", nullable=True),
    Column("created_by", String(32), nullable=True),  # the user who made it; None: the CLI or another key
    Index("ix_api_keys_workspace", "workspace"),
)

COUNTERS = Table(
    "counters",
    METADATA,
    Column("name", String(64), primary_key=True),
    Column("value", Integer, nullable=False),
)
"""Monotonic counters every process polls: ``keys`` grows with each revocation, so a process's key
cache learns of one made elsewhere within its poll interval; ``caps`` with each cap change."""

CAPS = Table(
    "caps",
    METADATA,
    Column("cap_id", String(32), primary_key=True),
    _workspace(),
    Column("name", String(200), nullable=False),
    Column("scope", String(32), nullable=False),
    Column("value", String(512), nullable=False),
    Column("period", String(16), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("limit_usd", String(40), nullable=False),
    Column("thresholds", JSON, nullable=False),
    Column("enforcement", String(16), nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("webhooks", JSON, nullable=False),
    Column("webhook_secret", String(100), nullable=False),
    Column("enabled", Boolean, nullable=False),
    _when("created_at"),
    _when("updated_at"),
    Index("ix_caps_workspace", "workspace"),
)

ALERTS = Table(
    "alerts",
    METADATA,
    # Derived from (workspace, cap, subject, period, limit, threshold): unique, so a second monitor's
    # insert of the same crossing fails and it does not notify.
    Column("alert_id", String(40), primary_key=True),
    _workspace(),
    Column("cap_id", String(32), nullable=False),
    Column("cap_name", String(200), nullable=False),
    Column("scope", String(32), nullable=False),
    Column("subject", String(512), nullable=False),
    Column("threshold", String(40), nullable=False),
    Column("spend_usd", String(40), nullable=False),
    Column("limit_usd", String(40), nullable=False),
    Column("period", String(16), nullable=False),
    _when("period_start"),
    _when("resets_at", nullable=True),
    _when("fired_at"),
    Column("test", Boolean, nullable=False),
    Column("delivered", Boolean, nullable=False),
    Column("deliveries", JSON, nullable=False),
    Index("ix_alerts_workspace", "workspace", "fired_at"),
    Index("ix_alerts_period_start", "period_start"),
)

CUSTOM_PRICES = Table(
    "custom_prices",
    METADATA,
    _workspace(),
    Column("price_id", String(32), nullable=False),
    Column("provider", String(100), nullable=False),
    Column("model", String(512), nullable=False),
    Column("is_regex", Boolean, nullable=False),
    _when("effective_from"),
    Column("input_per_mtok", String(40), nullable=False),
    Column("output_per_mtok", String(40), nullable=False),
    Column("cache_read_per_mtok", String(40), nullable=True),
    Column("cache_write_per_mtok", String(40), nullable=True),
    Column("reasoning_per_mtok", String(40), nullable=True),
    Column("source", String(64), nullable=False),
    _when("updated_at"),
    Index("ix_custom_prices_workspace", "workspace", "price_id", unique=True),
)

SETTINGS = Table(
    "settings",
    METADATA,
    _workspace(),
    Column("name", String(64), nullable=False),
    Column("value", JSON, nullable=False),
    Index("ix_settings_workspace", "workspace", "name", unique=True),
)

RECIPIENTS = Table(
    "recipients",
    METADATA,
    _workspace(),
    Column("address", String(320), nullable=False),
    Column("token_hash", String(64), nullable=False),
    _when("requested_at", nullable=True),
    _when("confirmed_at", nullable=True),
    Column("sends", JSON, nullable=False),
    Index("ix_recipients_workspace", "workspace", "address", unique=True),
    Index("ix_recipients_token_hash", "token_hash"),
)

SESSIONS = Table(
    "sessions",
    METADATA,
    # The cookie holds a random id; only its SHA-256 is stored, as for API keys.
    Column("id_hash", String(64), primary_key=True),
    _workspace(),
    # Signed in with a key (``key_id``) or as a person (``user_id``): exactly one is set.
    Column("key_id", String(32), ForeignKey("api_keys.key_id", ondelete="CASCADE"), nullable=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("csrf", String(64), nullable=False),
    _when("created_at"),
    _when("seen_at"),
    Column("flash", JSON, nullable=False),
    Index("ix_sessions_key_id", "key_id", "seen_at"),
    Index("ix_sessions_user_id", "user_id", "seen_at"),
)

RESERVATIONS = Table(
    "reservations",
    METADATA,
    Column("id", String(40), primary_key=True),
    _workspace(),
    Column("amount", String(40), nullable=False),
    Column("holds", JSON, nullable=False),
    Column("provider", String(100), nullable=False),
    Column("model", String(512), nullable=False),
    _when("expires_at"),
    Index("ix_reservations_workspace", "workspace", "expires_at"),
)
"""Strict-mode calls admitted and not yet settled: each hold is (cap id, subject, period start, spent then)."""

HOLDS = Table(
    "reservation_holds",
    METADATA,
    Column("reservation_id", String(40), ForeignKey("reservations.id", ondelete="CASCADE"), primary_key=True),
    _workspace(),
    Column("cap_id", String(32), primary_key=True),
    Column("subject", String(512), primary_key=True),
    Column("period_start", DateTime(timezone=True), primary_key=True),
    Column("nanos", BigInteger, nullable=False),
    Index("ix_reservation_holds_workspace", "workspace", "cap_id", "subject", "period_start"),
)
"""What each open reservation holds against each cap it falls under, in nano-dollars rounded up:
summed by the database at every admission."""

SETTLED = Table(
    "settled",
    METADATA,
    _workspace(),
    Column("cap_id", String(32), nullable=False),
    Column("subject", String(512), nullable=False),
    _when("period_start"),
    Column("amount", String(40), nullable=False),
    Index("ix_settled_workspace", "workspace", "cap_id", "subject", "period_start", unique=True),
)

LEASES = Table(
    "leases",
    METADATA,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    _when("expires_at"),
)
"""Who does a job only one process may do (the cap monitor), until when."""

UPGRADE_COPIES = Table(
    "upgrade_copies",
    METADATA,
    Column("name", String(64), primary_key=True),
    Column("rows", Integer, nullable=False),
    _when("copied_at"),
)
"""Which of the previous release's ClickHouse control tables were copied here (each once)."""


# the people and billing tables join METADATA wherever it is used
from . import _billing_schema, _people_schema  # noqa: E402, F401
