"""Marketing email: which channels a campaign uses, and each email's one-click unsubscribe
address.

Revision ID: notifications_0009
Revises: notifications_0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "notifications_0009"
down_revision = "notifications_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "campaigns",
        sa.Column("channels", JSONB(), nullable=False, server_default=sa.text("'[\"push\"]'")),
    )
    op.add_column(
        "emails", sa.Column("unsubscribe_url", sa.Text(), nullable=False, server_default="")
    )


def downgrade() -> None:
    op.drop_column("emails", "unsubscribe_url")
    op.drop_column("campaigns", "channels")
