"""A revision per user profile, raised by every change: Identity's events carry it so services
keeping a copy of a user's language and time zone keep the newest whatever order events
arrive in.

Revision ID: identity_0006
Revises: identity_0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "identity_0006"
down_revision = "identity_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("profile_revision", sa.BigInteger(), nullable=False, server_default="1"),
    )


def downgrade() -> None:
    op.drop_column("users", "profile_revision")
