"""Preferences on recipients: time zone, quiet hours and marketing opt-ins.

Revision ID: notifications_0003
Revises: notifications_0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0003"
down_revision = "notifications_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "recipients",
        sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"),
    )
    op.add_column("recipients", sa.Column("quiet_start", sa.Time(), nullable=True))
    op.add_column("recipients", sa.Column("quiet_end", sa.Time(), nullable=True))
    for opt_in in ("marketing_push", "marketing_email"):
        op.add_column(
            "recipients",
            sa.Column(opt_in, sa.Boolean(), nullable=False, server_default=sa.false()),
        )
    op.create_check_constraint(
        "whole_quiet_window", "recipients", "(quiet_start IS NULL) = (quiet_end IS NULL)"
    )


def downgrade() -> None:
    op.drop_constraint("whole_quiet_window", "recipients")
    for column in ("marketing_email", "marketing_push", "quiet_end", "quiet_start", "time_zone"):
        op.drop_column("recipients", column)
