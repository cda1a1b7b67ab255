"""Spent sign-in nonces: each opens one session with a provider's ID token.

Revision ID: identity_0007
Revises: identity_0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "identity_0007"
down_revision = "identity_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spent_sign_in_nonces",
        sa.Column("nonce_hash", sa.LargeBinary(32), primary_key=True),
        # Kept until then (the nonce is refused anyway once expired), then pruned.
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    op.create_index("sign_in_failures_by_last_failure", "sign_in_failures", ["last_failure_at"])


def downgrade() -> None:
    op.drop_index("sign_in_failures_by_last_failure", table_name="sign_in_failures")
    op.drop_table("spent_sign_in_nonces")
