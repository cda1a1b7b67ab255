"""A subscription's downgrade, waiting for the next renewal.

Revision ID: billing_0011
Revises: billing_0010
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0011"
down_revision = "billing_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "subscriptions",
        sa.Column("pending_plan_id", sa.Uuid(), sa.ForeignKey("plans.id"), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("subscriptions", "pending_plan_id")
