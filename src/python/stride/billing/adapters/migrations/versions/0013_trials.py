"""Free trials: days on plans, on the purchase that started one, and the trial's start on the
subscription (period -1 runs from it to the anchor).

Revision ID: billing_0013
Revises: billing_0012
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0013"
down_revision = "billing_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("plans", "purchases"):
        op.add_column(
            table, sa.Column("trial_days", sa.Integer(), nullable=False, server_default="0")
        )
    op.add_column(
        "subscriptions", sa.Column("trial_start", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_check_constraint(
        "trial_is_period_minus_one",
        "subscriptions",
        "period_index >= 0 OR (period_index = -1 AND trial_start IS NOT NULL)",
    )


def downgrade() -> None:
    op.drop_constraint("trial_is_period_minus_one", "subscriptions")
    op.drop_column("subscriptions", "trial_start")
    for table in ("purchases", "plans"):
        op.drop_column(table, "trial_days")
