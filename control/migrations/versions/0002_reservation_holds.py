"""reservation holds: what each open strict-mode reservation holds, summed by the database

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reservation_holds",
        sa.Column("reservation_id", sa.String(length=40), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("cap_id", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nanos", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_reservation_holds_reservation_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace"], ["workspaces.id"], name=op.f("fk_reservation_holds_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "reservation_id", "cap_id", "subject", "period_start", name=op.f("pk_reservation_holds")
        ),
    )
    with op.batch_alter_table("reservation_holds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reservation_holds_workspace", ["workspace", "cap_id", "subject", "period_start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reservation_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_reservation_holds_workspace")

    op.drop_table("reservation_holds")
