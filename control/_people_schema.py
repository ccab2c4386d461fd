"""The people tables: users, the sign-ins that name them, their roles in workspaces, invitations,
one-time links, sign-in flows in progress and the audit log."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table

from ._metadata import METADATA, when, workspace_column

__all__ = ["AUDIT", "IDENTITIES", "INVITATIONS", "LINKS", "MEMBERSHIPS", "OIDC_FLOWS", "USERS"]


def _user(name: str = "user_id", nullable: bool = False) -> Column[object]:
    return Column(name, String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=nullable)


USERS = Table(
    "users",
    METADATA,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=True),  # for messages; not a sign-in name unless ``login_email``
    # Local accounts sign in with their verified address: unique, lower-cased, set once verified.
    Column("login_email", String(320), nullable=True, unique=True),
    Column("password_hash", String(200), nullable=True),  # argon2id; None: no password sign-in
    when("created_at"),
)

IDENTITIES = Table(
    "identities",
    METADATA,
    # An OpenID Connect sign-in names a person by (issuer, subject), never by the e-mail it asserts.
    Column("issuer", String(512), primary_key=True),
    Column("subject", String(255), primary_key=True),
    _user(),
    Column("provider", String(64), nullable=False),
    Column("email", String(320), nullable=True),
    when("created_at"),
    when("seen_at"),
    Index("ix_identities_user_id", "user_id"),
)

MEMBERSHIPS = Table(
    "memberships",
    METADATA,
    workspace_column(primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
    when("created_at"),
    Index("ix_memberships_user_id", "user_id"),
)

INVITATIONS = Table(
    "invitations",
    METADATA,
    Column("id", String(32), primary_key=True),
    workspace_column(),
    Column("email", String(320), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("invited_by", String(200), nullable=False),
    when("created_at"),
    when("expires_at"),
    when("accepted_at", nullable=True),
    Column("accepted_by", String(32), nullable=True),
    when("revoked_at", nullable=True),
    Index("ix_invitations_workspace", "workspace", "created_at"),
)

LINKS = Table(
    "links",
    METADATA,
    # Single-use links sent by e-mail or printed: verify an address, reset a password, claim the
    # first owner. Only the token's SHA-256 is kept.
    Column("token_hash", String(64), primary_key=True),
    Column("purpose", String(16), nullable=False),
    Column("email", String(320), nullable=True),
    Column("user_id", String(32), nullable=True),
    Column("data", JSON, nullable=False),
    when("created_at"),
    when("expires_at"),
    when("used_at", nullable=True),
    Index("ix_links_email", "purpose", "email"),
)

OIDC_FLOWS = Table(
    "oidc_flows",
    METADATA,
    # A sign-in sent to a provider and not back yet: found by its ``state``, bound to the browser
    # that started it by a cookie whose hash is kept, used once.
    Column("state_hash", String(64), primary_key=True),
    Column("browser_hash", String(64), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("nonce", String(128), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("next", String(2048), nullable=False),
    Column("invitation", String(200), nullable=True),
    when("expires_at"),
    Index("ix_oidc_flows_expires_at", "expires_at"),
)

AUDIT = Table(
    "audit_log",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    workspace_column(),
    when("at"),
    Column("actor", String(200), nullable=False),  # "user:<id>", "key:<id>" or "cli"
    Column("actor_name", String(320), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(512), nullable=False),
    Column("detail", JSON, nullable=False),
    Index("ix_audit_log_workspace", "workspace", "at"),
)
