"""Charges of a subscription's card in flight: reserved before the card is charged, with the
parameters to repeat them identically, one per subscription.

Revision ID: billing_0017
Revises: billing_0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "billing_0017"
down_revision = "billing_0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscription_charges",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column(
            "subscription_id",
            sa.Uuid(),
            sa.ForeignKey("subscriptions.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("customer", sa.String(64), nullable=False),
        sa.Column("payment_method", sa.String(255), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", JSONB(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("target", sa.Uuid(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("subscription_charges_by_claim", "subscription_charges", ["claimed_until"])


def downgrade() -> None:
    op.drop_table("subscription_charges")
