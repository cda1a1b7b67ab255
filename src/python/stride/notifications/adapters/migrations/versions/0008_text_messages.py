"""Text messages: a user's phone number for transactional texts, and the texts to send.

Revision ID: notifications_0008
Revises: notifications_0007
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0008"
down_revision = "notifications_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "recipients",
        sa.Column("phone_number", sa.String(16), nullable=False, server_default=""),
    )
    op.create_table(
        "text_messages",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("to_number", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "text_messages_due",
        "text_messages",
        ["next_attempt"],
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "text_messages_failed",
        "text_messages",
        ["updated_at"],
        postgresql_where=sa.text("state = 'failed'"),
    )


def downgrade() -> None:
    op.drop_table("text_messages")
    op.drop_column("recipients", "phone_number")
