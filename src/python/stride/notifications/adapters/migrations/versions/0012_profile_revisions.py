"""The revision of Identity's profile each recipient's language and time zone come from, so
an older event arriving late does not undo a newer one.

Revision ID: notifications_0012
Revises: notifications_0011
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0012"
down_revision = "notifications_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "recipients",
        sa.Column("profile_revision", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("recipients", "profile_revision")
