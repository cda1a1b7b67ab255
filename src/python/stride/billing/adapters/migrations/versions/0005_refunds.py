"""Refunds of purchases, and how much of each purchase is refunded.

Revision ID: billing_0005
Revises: billing_0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0005"
down_revision = "billing_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "purchases",
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_check_constraint(
        "refunds_within_amount", "purchases", "refunded_minor BETWEEN 0 AND amount_minor"
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("purchase_id", sa.Uuid(), sa.ForeignKey("purchases.id"), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("refunded_by", sa.Uuid(), nullable=False),
        sa.Column("provider_refund", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="refund_amount_positive"),
    )
    op.create_index("refunds_by_purchase", "refunds", ["purchase_id"])


def downgrade() -> None:
    op.drop_table("refunds")
    op.drop_constraint("refunds_within_amount", "purchases")
    op.drop_column("purchases", "refunded_minor")
