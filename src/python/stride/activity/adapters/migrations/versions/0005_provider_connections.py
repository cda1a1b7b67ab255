"""Wearable provider connections (sealed tokens), pending authorizations, imported activities.

Revision ID: activity_0005
Revises: activity_0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "activity_0005"
down_revision = "activity_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_connections",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("provider", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("data_key_id", sa.String(32), nullable=False),
        sa.Column("access_token_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("refresh_token_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("token_expire_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_lease_id", sa.Uuid(), nullable=True),
        sa.Column("refresh_lease_expire_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "provider_connections_by_account",
        "provider_connections",
        ["provider", "account_id"],
        unique=True,
    )
    op.create_table(
        "pending_authorizations",
        sa.Column("state_digest", sa.String(64), primary_key=True),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("expire_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("pending_authorizations_by_expiry", "pending_authorizations", ["expire_time"])
    op.create_table(
        "imported_activities",
        sa.Column("provider", sa.String(32), primary_key=True),
        sa.Column("external_id", sa.String(64), primary_key=True),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("sport_type", sa.String(64), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("elapsed_seconds", sa.Integer(), nullable=False),
        sa.Column("moving_seconds", sa.Integer(), nullable=False),
        sa.Column("distance_meters", sa.Double(), nullable=False),
        sa.Column("elevation_gain_meters", sa.Double(), nullable=False),
        sa.Column("average_heart_rate", sa.Double(), nullable=True),
        sa.Column("max_heart_rate", sa.Double(), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "imported_activities_by_start", "imported_activities", ["member_id", "start_time"]
    )


def downgrade() -> None:
    for table in ("imported_activities", "pending_authorizations", "provider_connections"):
        op.drop_table(table)
