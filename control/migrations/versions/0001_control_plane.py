"""the control plane: workspaces, keys, caps, alerts, prices, settings, recipients, sessions, reservations, leases

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "upgrade_copies",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("copied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_upgrade_copies")),
    )
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caps_version", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
    )
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.create_index("ix_workspaces_caps_version", ["caps_version"], unique=False)
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(length=40), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("cap_id", sa.String(length=32), nullable=False),
        sa.Column("cap_name", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("threshold", sa.String(length=40), nullable=False),
        sa.Column("spend_usd", sa.String(length=40), nullable=False),
        sa.Column("limit_usd", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resets_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("deliveries", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["workspace"], ["workspaces.id"], name=op.f("fk_alerts_workspace"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_period_start", ["period_start"], unique=False)
        batch_op.create_index("ix_alerts_workspace", ["workspace", "fired_at"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace"], ["workspaces.id"], name=op.f("fk_api_keys_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index("ix_api_keys_workspace", ["workspace"], unique=False)

    op.create_table(
        "caps",
        sa.Column("cap_id", sa.String(length=32), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("limit_usd", sa.String(length=40), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("enforcement", sa.String(length=16), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("webhooks", sa.JSON(), nullable=False),
        sa.Column("webhook_secret", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace"], ["workspaces.id"], name=op.f("fk_caps_workspace"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("cap_id", name=op.f("pk_caps")),
    )
    with op.batch_alter_table("caps", schema=None) as batch_op:
        batch_op.create_index("ix_caps_workspace", ["workspace"], unique=False)

    op.create_table(
        "custom_prices",
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("price_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=512), nullable=False),
        sa.Column("is_regex", sa.Boolean(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("input_per_mtok", sa.String(length=40), nullable=False),
        sa.Column("output_per_mtok", sa.String(length=40), nullable=False),
        sa.Column("cache_read_per_mtok", sa.String(length=40), nullable=True),
        sa.Column("cache_write_per_mtok", sa.String(length=40), nullable=True),
        sa.Column("reasoning_per_mtok", sa.String(length=40), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace"], ["workspaces.id"], name=op.f("fk_custom_prices_workspace"), ondelete="CASCADE"
        ),
    )
    with op.batch_alter_table("custom_prices", schema=None) as batch_op:
        batch_op.create_index("ix_custom_prices_workspace", ["workspace", "price_id"], unique=True)

    op.create_table(
        "recipients",
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sends", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace"], ["workspaces.id"], name=op.f("fk_recipients_workspace"), ondelete="CASCADE"
        ),
    )
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.create_index("ix_recipients_token_hash", ["token_hash"], unique=False)
        batch_op.create_index("ix_recipients_workspace", ["workspace", "address"], unique=True)

    op.create_table(
        "reservations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=False),
        sa.Column("holds", sa.JSON(), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=512), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace"], ["workspaces.id"], name=op.f("fk_reservations_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index("ix_reservations_workspace", ["workspace", "expires_at"], unique=False)

    op.create_table(
        "settings",
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace"], ["workspaces.id"], name=op.f("fk_settings_workspace"), ondelete="CASCADE"
        ),
    )
    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.create_index("ix_settings_workspace", ["workspace", "name"], unique=True)

    op.create_table(
        "settled",
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("cap_id", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace"], ["workspaces.id"], name=op.f("fk_settled_workspace"), ondelete="CASCADE"
        ),
    )
    with op.batch_alter_table("settled", schema=None) as batch_op:
        batch_op.create_index("ix_settled_workspace", ["workspace", "cap_id", "subject", "period_start"], unique=True)

    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flash", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.key_id"], name=op.f("fk_sessions_key_id"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["workspace"], ["workspaces.id"], name=op.f("fk_sessions_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_key_id", ["key_id", "seen_at"], unique=False)
    op.bulk_insert(counters, [{"name": "keys", "value": 0}, {"name": "caps", "value": 0}])


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_key_id")

    op.drop_table("sessions")
    with op.batch_alter_table("settled", schema=None) as batch_op:
        batch_op.drop_index("ix_settled_workspace")

    op.drop_table("settled")
    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.drop_index("ix_settings_workspace")

    op.drop_table("settings")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_reservations_workspace")

    op.drop_table("reservations")
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_recipients_workspace")
        batch_op.drop_index("ix_recipients_token_hash")

    op.drop_table("recipients")
    with op.batch_alter_table("custom_prices", schema=None) as batch_op:
        batch_op.drop_index("ix_custom_prices_workspace")

    op.drop_table("custom_prices")
    with op.batch_alter_table("caps", schema=None) as batch_op:
        batch_op.drop_index("ix_caps_workspace")

    op.drop_table("caps")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_workspace")

    op.drop_table("api_keys")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_workspace")
        batch_op.drop_index("ix_alerts_period_start")

    op.drop_table("alerts")
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_index("ix_workspaces_caps_version")

    op.drop_table("workspaces")
    op.drop_table("upgrade_copies")
    op.drop_table("leases")
    op.drop_table("counters")
