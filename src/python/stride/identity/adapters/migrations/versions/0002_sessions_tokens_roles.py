"""Sessions, refresh tokens, signing keys, email verification, roles, sign-in throttling.

Revision ID: identity_0002
Revises: identity_0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "identity_0002"
down_revision = "identity_0001"
branch_labels = None
depends_on = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("phone_number", sa.String(16), nullable=False, server_default="")
    )
    op.create_table(
        "role_grants",
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("studio", sa.String(72), primary_key=True),
        sa.Column("granted_by", sa.Uuid(), nullable=False),
        _timestamp("granted_at"),
    )
    op.create_table(
        "email_verifications",
        sa.Column("token_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("email", sa.String(254), nullable=False),
        _timestamp("expires_at"),
        _timestamp("used_at", nullable=True),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("studio", sa.String(72), nullable=True),
        sa.Column("user_agent", sa.String(256), nullable=False),
        _timestamp("created_at"),
        _timestamp("last_used_at"),
        _timestamp("expires_at"),
        _timestamp("revoked_at", nullable=True),
        sa.Column("revoke_reason", sa.String(32), nullable=True),
    )
    op.create_index("sessions_by_user", "sessions", ["user_id", "created_at"])
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("session_id", sa.Uuid(), sa.ForeignKey("sessions.id"), nullable=False),
        _timestamp("issued_at"),
        _timestamp("used_at", nullable=True),
    )
    op.create_index("refresh_tokens_by_session", "refresh_tokens", ["session_id"])
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(32), primary_key=True),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("private_key_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("data_key_id", sa.String(32), nullable=False),
        _timestamp("created_at"),
        _timestamp("activates_at"),
    )
    op.create_table(
        "sign_in_failures",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        _timestamp("last_failure_at"),
    )


def downgrade() -> None:
    for table in (
        "sign_in_failures",
        "signing_keys",
        "refresh_tokens",
        "sessions",
        "email_verifications",
        "role_grants",
    ):
        op.drop_table(table)
    op.drop_column("users", "phone_number")
