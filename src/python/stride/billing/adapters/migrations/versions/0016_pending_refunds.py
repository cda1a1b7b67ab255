"""Refunds reserved before the provider is asked: pending until it answers, claimed by one
attempt at a time. Refunds made before this were all answered.

Revision ID: billing_0016
Revises: billing_0015
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0016"
down_revision = "billing_0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The default stays: while a rolling deploy runs, pods of the release before this one still
    # insert refunds without a state, and theirs were all answered. A later release, once no
    # such pod is left, may drop it (expand, then contract).
    op.add_column(
        "refunds", sa.Column("state", sa.String(16), nullable=False, server_default="succeeded")
    )
    op.add_column("refunds", sa.Column("attempt_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.execute("DELETE FROM refunds WHERE state = 'pending'")
    op.drop_column("refunds", "attempt_until")
    op.drop_column("refunds", "state")
