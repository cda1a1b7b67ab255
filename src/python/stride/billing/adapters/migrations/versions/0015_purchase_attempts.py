"""Purchases claimed while their provider is asked: the claim's end, so a second attempt keeps
off until the first has settled or is presumed dead.

Revision ID: billing_0015
Revises: billing_0014
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0015"
down_revision = "billing_0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("purchases", sa.Column("attempt_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("purchases", "attempt_until")
