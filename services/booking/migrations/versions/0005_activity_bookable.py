"""activities say whether they can be booked (their provider's Stripe account takes payments)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 01:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Activities known before catalog said it stay bookable until catalog's next word.
    op.add_column(
        "activity",
        sa.Column("bookable", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column("activity", sa.Column("not_bookable_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("activity", "not_bookable_reason")
    op.drop_column("activity", "bookable")
