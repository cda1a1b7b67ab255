"""The delivery log: every try at sending a push or an email, and how it went.

Revision ID: notifications_0007
Revises: notifications_0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0007"
down_revision = "notifications_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("delivery_attempts_of", "delivery_attempts", ["notification_id", "target"])
    # Dead letters, newest first, across pushes and emails.
    op.create_index(
        "deliveries_failed",
        "deliveries",
        ["updated_at"],
        postgresql_where=sa.text("state = 'failed'"),
    )
    op.create_index(
        "emails_failed", "emails", ["updated_at"], postgresql_where=sa.text("state = 'failed'")
    )


def downgrade() -> None:
    op.drop_index("emails_failed", "emails")
    op.drop_index("deliveries_failed", "deliveries")
    op.drop_table("delivery_attempts")
