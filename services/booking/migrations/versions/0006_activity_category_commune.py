"""activities keep their category and commune (agenda and observatory figures)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Activities projected before this revision get NULL ("not known yet", never a made-up
    # value): catalog's next word on each one fills them in, and so does a redelivery of
    # the version already held (``service.apply_activity``). The observatory shows them
    # under a null category and commune until then.
    op.add_column("activity", sa.Column("category", sa.String(length=64), nullable=True))
    op.add_column("activity", sa.Column("commune", sa.String(length=120), nullable=True))


def downgrade() -> None:
    op.drop_column("activity", "commune")
    op.drop_column("activity", "category")
