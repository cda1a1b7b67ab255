"""Which notifications are marketing, to cap them per user per day.

Revision ID: notifications_0005
Revises: notifications_0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0005"
down_revision = "notifications_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "notifications",
        sa.Column("marketing", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("notifications", "marketing")
