"""Membership terms on plans: an intro price for the first period, and a commitment.

Revision ID: billing_0012
Revises: billing_0011
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0012"
down_revision = "billing_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("plans", sa.Column("intro_price_minor", sa.BigInteger(), nullable=True))
    op.add_column(
        "plans",
        sa.Column("commitment_periods", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("plans", "commitment_periods")
    op.drop_column("plans", "intro_price_minor")
