"""The index the periodic pruning of stored responses past the request-id window reads.

Revision ID: platform_0003
Revises: platform_0002
Create Date: 2026-12-02
"""

from alembic import op

revision = "platform_0003"
down_revision = "platform_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("idempotency_keys_created", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("idempotency_keys_created", table_name="idempotency_keys")
