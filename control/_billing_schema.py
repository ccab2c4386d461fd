"""The billing tables: each workspace's subscription as Stripe last said, the Stripe events applied,
promo codes and their redemptions, and spans counted per workspace and day."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, ForeignKey, Index, Integer, String, Table

from ._metadata import METADATA, when, workspace_column

__all__ = ["BILLING_ACCOUNTS", "PROMO_CODES", "PROMO_REDEMPTIONS", "STRIPE_EVENTS", "USAGE_DAYS"]

BILLING_ACCOUNTS = Table(
    "billing_accounts",
    METADATA,
    workspace_column(primary_key=True),
    Column("customer_id", String(64), nullable=True, unique=True),
    Column("subscription_id", String(64), nullable=True),
    Column("status", String(24), nullable=True),  # Stripe's subscription status; None: never subscribed
    Column("price_id", String(64), nullable=True),
    when("current_period_end", nullable=True),
    Column("cancel_at_period_end", Boolean, nullable=False, default=False),
    when("past_due_since", nullable=True),  # the grace period counts from here
    # When the subscription written was retrieved from Stripe: a write of an older read is skipped,
    # so events applied in any order leave the newest state.
    when("synced_at", nullable=True),
    when("promo_until", nullable=True),  # pro without payment, granted by promo codes
    when("updated_at"),
    Index("ix_billing_accounts_subscription_id", "subscription_id"),
)

STRIPE_EVENTS = Table(
    "stripe_events",
    METADATA,
    # The primary key is what applies an event once: its effect commits in the same transaction.
    Column("id", String(255), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("workspace", String(64), nullable=True),  # None: a customer this server does not know
    when("created"),  # Stripe's
    when("received_at"),
    Column("outcome", String(64), nullable=False),
)

PROMO_CODES = Table(
    "promo_codes",
    METADATA,
    Column("code_hash", String(64), primary_key=True),  # SHA-256 of the upper-cased code
    # Two characters, to tell codes apart in lists; a code is short, so its hash alone does not keep it
    # from someone who reads the database: the rate limit and the server-only check are what protect it.
    Column("hint", String(16), nullable=False),
    Column("months", Integer, nullable=False),
    Column("max_redemptions", Integer, nullable=False),
    Column("redemptions", Integer, nullable=False, default=0),
    when("expires_at", nullable=True),
    when("disabled_at", nullable=True),
    Column("stripe_promotion_code", String(64), nullable=True),  # set: applied at Checkout instead
    when("created_at"),
)

PROMO_REDEMPTIONS = Table(
    "promo_redemptions",
    METADATA,
    Column("code_hash", String(64), ForeignKey("promo_codes.code_hash", ondelete="CASCADE"), primary_key=True),
    workspace_column(primary_key=True),
    when("redeemed_at"),
)

USAGE_DAYS = Table(
    "usage_days",
    METADATA,
    workspace_column(primary_key=True),
    Column("day", Date, primary_key=True),  # UTC
    Column("accepted", BigInteger, nullable=False, default=0),
    Column("refused", BigInteger, nullable=False, default=0),
)
