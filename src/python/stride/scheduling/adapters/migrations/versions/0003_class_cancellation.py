"""When the studio cancelled a class.

Revision ID: scheduling_0003
Revises: scheduling_0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "scheduling_0003"
down_revision = "scheduling_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "class_sessions", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("class_sessions", "cancelled_at")
