"""sign-in links

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A sign-in link to office staff concerns no provider.
    op.alter_column("outgoing_mail", "provider_id", existing_type=sa.UUID(), nullable=True)
    op.add_column(
        "outgoing_mail", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    # The older schema cannot hold a mail without a provider: office sign-in links go.
    op.drop_column("outgoing_mail", "expires_at")
    op.execute("DELETE FROM outgoing_mail WHERE provider_id IS NULL")
    op.alter_column("outgoing_mail", "provider_id", existing_type=sa.UUID(), nullable=False)
