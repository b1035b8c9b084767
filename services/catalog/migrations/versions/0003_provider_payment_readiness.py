"""provider payment readiness

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 00:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: What activities already published say until payments reports their provider's account.
NOT_ONBOARDED = "The provider has not started its Stripe onboarding yet: visitors cannot pay it."


def upgrade() -> None:
    op.add_column(
        "provider",
        sa.Column("stripe_account_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    )
    for flag in ("charges_enabled", "payouts_enabled", "details_submitted"):
        op.add_column(
            "provider", sa.Column(flag, sa.Boolean(), server_default="false", nullable=False)
        )
    op.add_column(
        "provider",
        sa.Column(
            "payment_disabled_reason", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True
        ),
    )
    op.add_column(
        "provider",
        sa.Column(
            "requirements_due",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )
    op.add_column(
        "activity", sa.Column("bookable", sa.Boolean(), server_default="false", nullable=False)
    )
    op.add_column(
        "activity",
        sa.Column(
            "not_bookable_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True
        ),
    )
    op.execute(
        sa.text("UPDATE activity SET not_bookable_reason = :reason").bindparams(
            reason=NOT_ONBOARDED
        )
    )


def downgrade() -> None:
    op.drop_column("activity", "not_bookable_reason")
    op.drop_column("activity", "bookable")
    for column in (
        "requirements_due",
        "payment_disabled_reason",
        "details_submitted",
        "payouts_enabled",
        "charges_enabled",
        "stripe_account_id",
    ):
        op.drop_column("provider", column)
