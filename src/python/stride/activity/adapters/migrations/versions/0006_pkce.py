"""PKCE: a pending authorization keeps its code verifier, sealed.

Revision ID: activity_0006
Revises: activity_0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "activity_0006"
down_revision = "activity_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Authorizations live ten minutes: those started before have no verifier, and their
    # members start again.
    op.execute("DELETE FROM pending_authorizations")
    op.add_column("pending_authorizations", sa.Column("data_key_id", sa.String(32), nullable=False))
    op.add_column(
        "pending_authorizations",
        sa.Column("code_verifier_sealed", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("pending_authorizations", "code_verifier_sealed")
    op.drop_column("pending_authorizations", "data_key_id")
