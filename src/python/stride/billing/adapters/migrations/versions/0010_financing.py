"""Purchases financed by a buy-now-pay-later partner: the partner's payment and its page.

Revision ID: billing_0010
Revises: billing_0009
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0010"
down_revision = "billing_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "purchases",
        sa.Column("financing_payment", sa.String(128), nullable=False, server_default=""),
    )
    op.add_column(
        "purchases",
        sa.Column("financing_url", sa.String(2048), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_column("purchases", "financing_url")
    op.drop_column("purchases", "financing_payment")
