"""Subscriptions to memberships, and the card each purchase was paid with.

Revision ID: billing_0006
Revises: billing_0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0006"
down_revision = "billing_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "purchases",
        sa.Column("payment_method", sa.String(255), nullable=False, server_default=""),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("member_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("plan_id", sa.Uuid(), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("anchor", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_index", sa.Integer(), nullable=False),
        sa.Column("payment_method", sa.String(255), nullable=False),
        sa.Column(
            "entitlement_id",
            sa.Uuid(),
            sa.ForeignKey("entitlements.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(state = 'cancelled') = (next_attempt IS NULL)", name="only_live_renew"
        ),
    )
    # What the renewer scans: live subscriptions by when they are due.
    op.create_index(
        "subscriptions_due",
        "subscriptions",
        ["next_attempt"],
        postgresql_where=sa.text("next_attempt IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("subscriptions")
    op.drop_column("purchases", "payment_method")
