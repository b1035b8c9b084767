"""account requirements and disputes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "connected_account",
        sa.Column("disabled_reason", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    )
    op.add_column(
        "connected_account",
        sa.Column(
            "requirements_due",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )
    op.create_table(
        "dispute",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("reservation_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("territory_id", sa.Uuid(), nullable=False),
        sa.Column(
            "stripe_account_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False
        ),
        sa.Column("charge_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("evidence_due_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["reservation_id"], ["payment.reservation_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_dispute_reservation_id"), "dispute", ["reservation_id"])
    op.create_index(op.f("ix_dispute_provider_id"), "dispute", ["provider_id"])
    op.create_index(op.f("ix_dispute_territory_id"), "dispute", ["territory_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dispute_territory_id"), table_name="dispute")
    op.drop_index(op.f("ix_dispute_provider_id"), table_name="dispute")
    op.drop_index(op.f("ix_dispute_reservation_id"), table_name="dispute")
    op.drop_table("dispute")
    op.drop_column("connected_account", "requirements_due")
    op.drop_column("connected_account", "disabled_reason")
