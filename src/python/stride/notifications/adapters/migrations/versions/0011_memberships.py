"""Memberships: each user's subscriptions as Billing's events tell, for campaign audiences
(active members, lapsed ones, people who never subscribed).

Revision ID: notifications_0011
Revises: notifications_0010
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0011"
down_revision = "notifications_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "memberships",
        sa.Column("subscription", sa.String(200), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("memberships")
