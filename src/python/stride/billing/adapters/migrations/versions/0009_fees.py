"""Late-cancel and no-show fees: each studio's prices, and the fees charged.

Revision ID: billing_0009
Revises: billing_0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0009"
down_revision = "billing_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "studio_fees",
        sa.Column("studio", sa.String(63), primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("late_cancel_minor", sa.BigInteger(), nullable=False),
        sa.Column("no_show_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_rate_basis_points", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "fees",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("member_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("studio", sa.String(63), nullable=False),
        sa.Column("booking", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("payment_intent", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="fee_amount_positive"),
    )


def downgrade() -> None:
    op.drop_table("fees")
    op.drop_table("studio_fees")
