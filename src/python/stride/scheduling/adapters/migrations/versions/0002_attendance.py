"""When a booking's member checked in.

Revision ID: scheduling_0002
Revises: scheduling_0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "scheduling_0002"
down_revision = "scheduling_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True))
    # The sweep for no-shows looks for confirmed bookings of classes that have started.
    op.create_index(
        "confirmed_by_class_start",
        "bookings",
        ["class_start"],
        postgresql_where=sa.text("state = 'confirmed'"),
    )


def downgrade() -> None:
    op.drop_index("confirmed_by_class_start", "bookings")
    op.drop_column("bookings", "checked_in_at")
