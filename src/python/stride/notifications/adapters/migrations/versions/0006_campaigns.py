"""Campaigns: one marketing message in A/B variants to an audience, and which notifications
came from which campaign and variant.

Revision ID: notifications_0006
Revises: notifications_0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "notifications_0006"
down_revision = "notifications_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("audience", JSONB(), nullable=False),
        sa.Column("variants", JSONB(), nullable=False),
        sa.Column("send_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("per_second", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("creator", sa.String(200), nullable=False),
        sa.Column("planned", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.Uuid(), nullable=True),
        sa.Column("started", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "campaigns_due",
        "campaigns",
        ["send_time"],
        postgresql_where=sa.text("state IN ('scheduled', 'planning')"),
    )
    op.add_column("notifications", sa.Column("campaign_id", sa.Uuid(), nullable=True))
    op.add_column("notifications", sa.Column("variant", sa.String(20), nullable=True))
    op.create_index(
        "notifications_campaign",
        "notifications",
        ["campaign_id"],
        postgresql_where=sa.text("campaign_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("notifications_campaign", "notifications")
    op.drop_column("notifications", "variant")
    op.drop_column("notifications", "campaign_id")
    op.drop_table("campaigns")
