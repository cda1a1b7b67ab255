"""Stripe customers, purchases of class packs, and the Stripe events already handled.

Revision ID: billing_0004
Revises: billing_0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0004"
down_revision = "billing_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_customers",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("customer", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "purchases",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("member_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("plan_id", sa.Uuid(), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("payment_intent", sa.String(64), nullable=False, server_default=""),
        sa.Column("failure_code", sa.String(64), nullable=False, server_default=""),
        sa.Column(
            "entitlement_id",
            sa.Uuid(),
            sa.ForeignKey("entitlements.id"),
            nullable=True,
            unique=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        # Money taken always comes with what it bought.
        sa.CheckConstraint(
            "(state = 'succeeded') = (entitlement_id IS NOT NULL)", name="paid_purchase_granted"
        ),
        sa.CheckConstraint("amount_minor >= 0", name="purchase_amount_not_negative"),
    )
    op.create_index(
        "purchases_by_payment_intent",
        "purchases",
        ["payment_intent"],
        unique=True,
        postgresql_where=sa.text("payment_intent <> ''"),
    )
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(255), primary_key=True),  # Stripe's `evt_…`.
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stripe_events")
    op.drop_table("purchases")
    op.drop_table("payment_customers")
