"""Email bodies sealed at rest (AES-256-GCM under the service's data keys): they carry
credentials such as password-reset and verification links.

A migration has no data keys, so bodies written before cannot be sealed here: they are
dropped. Emails already sent lose only their copy; ones not sent yet become failed (their
links expire within hours; the user asks again).

Revision ID: notifications_0010
Revises: notifications_0009
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0010"
down_revision = "notifications_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE emails SET state = 'failed' WHERE state IN ('pending', 'sending')")
    op.drop_column("emails", "text_body")
    op.drop_column("emails", "html_body")
    op.add_column("emails", sa.Column("body_sealed", sa.LargeBinary(), nullable=True))
    op.add_column("emails", sa.Column("data_key_id", sa.String(32), nullable=True))
    op.execute("UPDATE emails SET body_sealed = ''::bytea, data_key_id = ''")
    op.alter_column("emails", "body_sealed", nullable=False)
    op.alter_column("emails", "data_key_id", nullable=False)


def downgrade() -> None:
    op.drop_column("emails", "data_key_id")
    op.drop_column("emails", "body_sealed")
    op.add_column("emails", sa.Column("text_body", sa.Text(), nullable=False, server_default=""))
    op.add_column("emails", sa.Column("html_body", sa.Text(), nullable=False, server_default=""))
