"""Fees recorded by the event consumer and charged later by a collector, outside any
transaction: pending until charged, with the card they go to, their VAT, and the claim of the
attempt charging them. Fees before this were charged at once.

Revision ID: billing_0018
Revises: billing_0017
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0018"
down_revision = "billing_0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The defaults stay: while a rolling deploy runs, pods of the release before this one still
    # insert fees (charged at once) without these columns. A later release, once no such pod is
    # left, may drop them (expand, then contract).
    op.add_column(
        "fees", sa.Column("vat_minor", sa.BigInteger(), nullable=False, server_default="0")
    )
    op.add_column("fees", sa.Column("customer", sa.String(64), nullable=False, server_default=""))
    op.add_column(
        "fees", sa.Column("payment_method", sa.String(255), nullable=False, server_default="")
    )
    op.add_column("fees", sa.Column("claimed_until", sa.DateTime(timezone=True)))
    op.create_index(
        "fees_pending", "fees", ["created_at"], postgresql_where=sa.text("state = 'pending'")
    )


def downgrade() -> None:
    op.drop_index("fees_pending", "fees")
    op.execute("UPDATE fees SET state = 'unpaid' WHERE state = 'pending'")
    for column in ("claimed_until", "payment_method", "customer", "vat_minor"):
        op.drop_column("fees", column)
