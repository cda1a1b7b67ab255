"""Family members on memberships: an add-on price on plans, and who is on each subscription.

Revision ID: billing_0014
Revises: billing_0013
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0014"
down_revision = "billing_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("plans", sa.Column("add_on_price_minor", sa.BigInteger(), nullable=True))
    op.create_table(
        "subscription_add_ons",
        sa.Column(
            "subscription_id", sa.Uuid(), sa.ForeignKey("subscriptions.id"), primary_key=True
        ),
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("entitlement_id", sa.Uuid(), sa.ForeignKey("entitlements.id"), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("entitlement_id"),
    )


def downgrade() -> None:
    op.drop_table("subscription_add_ons")
    op.drop_column("plans", "add_on_price_minor")
