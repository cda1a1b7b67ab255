"""Freezing memberships: a pause window on subscriptions and on the entitlement they pay for.

Revision ID: billing_0008
Revises: billing_0007
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0008"
down_revision = "billing_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "subscriptions",
        sa.Column("paused_seconds", sa.BigInteger(), nullable=False, server_default="0"),
    )
    for table, start, end in (
        ("subscriptions", "pause_start", "pause_end"),
        ("entitlements", "paused_from", "paused_until"),
    ):
        op.add_column(table, sa.Column(start, sa.DateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column(end, sa.DateTime(timezone=True), nullable=True))
        op.create_check_constraint(
            f"{table}_pause_window",
            table,
            f"({start} IS NULL) = ({end} IS NULL) AND ({start} IS NULL OR {start} < {end})",
        )


def downgrade() -> None:
    for table, start, end in (
        ("subscriptions", "pause_start", "pause_end"),
        ("entitlements", "paused_from", "paused_until"),
    ):
        op.drop_constraint(f"{table}_pause_window", table)
        op.drop_column(table, end)
        op.drop_column(table, start)
    op.drop_column("subscriptions", "paused_seconds")
