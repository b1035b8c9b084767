"""activity photos and slot seats taken

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "activity",
        sa.Column(
            "photos", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
    )
    op.add_column(
        "slot", sa.Column("seats_taken", sa.Integer(), server_default="0", nullable=False)
    )
    # An open slot's last report said how many seats were left of its capacity: the
    # rest are taken. (A closed slot was reported with none left: taken unknown, 0
    # until booking reports again.)
    op.execute(
        "UPDATE slot SET seats_taken = GREATEST(capacity - remaining, 0) "
        "WHERE status = 'OPEN' AND availability_version > 0"
    )


def downgrade() -> None:
    op.drop_column("slot", "seats_taken")
    op.drop_column("activity", "photos")
