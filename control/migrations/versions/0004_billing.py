"""billing: subscriptions per workspace, Stripe events applied, promo codes, usage per day

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _workspace() -> sa.Column[str]:
    return sa.Column("workspace", sa.String(length=64), nullable=False)


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace"], ["workspaces.id"], name=op.f(f"fk_{table}_workspace"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "billing_accounts",
        _workspace(),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=True),
        sa.Column("price_id", sa.String(length=64), nullable=True),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("past_due_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("promo_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _workspace_fk("billing_accounts"),
        sa.PrimaryKeyConstraint("workspace", name=op.f("pk_billing_accounts")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_billing_accounts_customer_id")),
    )
    op.create_index("ix_billing_accounts_subscription_id", "billing_accounts", ["subscription_id"], unique=False)
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_table(
        "promo_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("max_redemptions", sa.Integer(), nullable=False),
        sa.Column("redemptions", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stripe_promotion_code", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_promo_codes")),
    )
    op.create_table(
        "promo_redemptions",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        _workspace(),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["code_hash"], ["promo_codes.code_hash"], name=op.f("fk_promo_redemptions_code_hash"), ondelete="CASCADE"
        ),
        _workspace_fk("promo_redemptions"),
        sa.PrimaryKeyConstraint("code_hash", "workspace", name=op.f("pk_promo_redemptions")),
    )
    op.create_table(
        "usage_days",
        _workspace(),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("accepted", sa.BigInteger(), nullable=False),
        sa.Column("refused", sa.BigInteger(), nullable=False),
        _workspace_fk("usage_days"),
        sa.PrimaryKeyConstraint("workspace", "day", name=op.f("pk_usage_days")),
    )


def downgrade() -> None:
    op.drop_table("usage_days")
    op.drop_table("promo_redemptions")
    op.drop_table("promo_codes")
    op.drop_table("stripe_events")
    op.drop_index("ix_billing_accounts_subscription_id", table_name="billing_accounts")
    op.drop_table("billing_accounts")
