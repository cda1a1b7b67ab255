"""Spot maps: a room's places, and the place a booking holds.

Revision ID: scheduling_0005
Revises: scheduling_0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "scheduling_0005"
down_revision = "scheduling_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rooms", sa.Column("spots", postgresql.ARRAY(sa.String(16)), nullable=True))
    op.add_column("bookings", sa.Column("spot", sa.String(16), nullable=True))
    # One holder per spot per class, enforced by the database.
    op.create_index(
        "one_holder_per_spot",
        "bookings",
        ["session_id", "spot"],
        unique=True,
        postgresql_where=sa.text("spot IS NOT NULL AND state IN ('confirmed', 'attended')"),
    )


def downgrade() -> None:
    op.drop_index("one_holder_per_spot", "bookings")
    op.drop_column("bookings", "spot")
    op.drop_column("rooms", "spots")
