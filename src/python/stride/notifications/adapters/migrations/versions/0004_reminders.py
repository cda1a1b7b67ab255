"""Class reminders: one per booking, sent some hours before the class.

Revision ID: notifications_0004
Revises: notifications_0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0004"
down_revision = "notifications_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("booking", sa.String(200), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("class_session", sa.String(200), nullable=False, index=True),
        sa.Column("class_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "reminders_due", "reminders", ["remind_at"], postgresql_where=sa.text("state = 'pending'")
    )


def downgrade() -> None:
    op.drop_table("reminders")
