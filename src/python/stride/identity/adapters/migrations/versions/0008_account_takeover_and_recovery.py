"""Verification links that carry the password of the sign-up they confirm (the owner of an
address takes a never-verified account over), and the "this wasn't me" links sent to an
account's previous address after an email change.

Revision ID: identity_0008
Revises: identity_0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "identity_0008"
down_revision = "identity_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: links written by the release before keep the account's password when opened.
    op.add_column("email_verifications", sa.Column("password_hash", sa.String(256)))
    op.create_table(
        "email_change_reverts",
        sa.Column("token_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("previous_email", sa.String(254), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("email_change_reverts")
    op.drop_column("email_verifications", "password_hash")
