"""Holds remember when Scheduling last asked for them and whether their booking was seen to
exist, so a reconciler can give back the credits of bookings that were never made (ADR 0012).

Revision ID: billing_0019
Revises: billing_0018
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0019"
down_revision = "billing_0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("holds", sa.Column("requested_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE holds SET requested_at = created_at")
    # The default stays while replicas of the release before this one may still be running
    # (a rolling deploy): their holds are inserted without the column.
    op.alter_column("holds", "requested_at", nullable=False, server_default=sa.func.now())
    # Holds made before this were made by bookings that committed or were refused long ago;
    # their bookings are not asked about.
    op.add_column("holds", sa.Column("verified_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE holds SET verified_at = created_at")
    op.create_index(
        "holds_unverified",
        "holds",
        ["requested_at"],
        postgresql_where=sa.text("state = 'held' AND verified_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("holds_unverified", "holds")
    op.drop_column("holds", "verified_at")
    op.drop_column("holds", "requested_at")
