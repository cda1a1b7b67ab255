"""Indexes the periodic pruning of published outbox rows and old inbox rows reads (ADR 0009).

Revision ID: platform_0002
Revises: platform_0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "platform_0002"
down_revision = "platform_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "outbox_published",
        "outbox",
        ["published_at"],
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.create_index("inbox_processed", "inbox", ["processed_at"])


def downgrade() -> None:
    op.drop_index("inbox_processed", table_name="inbox")
    op.drop_index("outbox_published", table_name="outbox")
