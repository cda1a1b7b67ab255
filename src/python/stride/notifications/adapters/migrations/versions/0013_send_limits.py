"""Limits on what members can make Notifications send: the number each member verified with a
one-time code (texts go only there), the codes themselves (hashed), and counts of texts, codes
and account emails per member, number and address.

Old code keeps working beside it: it never writes `verified_phone_number`, whose empty default
means unverified, so a number it saves is not texted until its owner verifies it.

Revision ID: notifications_0013
Revises: notifications_0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0013"
down_revision = "notifications_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "recipients",
        sa.Column("verified_phone_number", sa.String(16), nullable=False, server_default=""),
    )
    op.create_table(
        "phone_codes",
        sa.Column("user_id", sa.Uuid(), primary_key=True),
        sa.Column("phone_number", sa.String(16), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "send_counts",
        sa.Column("key_hash", sa.LargeBinary(), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("sends", sa.Integer(), nullable=False),
    )
    op.create_index("send_counts_window", "send_counts", ["window_start"])


def downgrade() -> None:
    op.drop_table("send_counts")
    op.drop_table("phone_codes")
    op.drop_column("recipients", "verified_phone_number")
