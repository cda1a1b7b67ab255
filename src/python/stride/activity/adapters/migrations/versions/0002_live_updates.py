"""Live sessions: the log of updates watchers resume from, kept a day; each session's last
sequence and maximum heart rate; sessions found by class for the heart-rate board.

Revision ID: activity_0002
Revises: activity_0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "activity_0002"
down_revision = "activity_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "workout_sessions",
        sa.Column("max_heart_rate", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "workout_sessions",
        sa.Column("live_sequence", sa.BigInteger(), nullable=False, server_default="0"),
    )
    # The board's question: the sessions in progress in one class.
    op.create_index(
        "workout_sessions_in_class",
        "workout_sessions",
        ["class_session"],
        postgresql_where=sa.text("class_session <> '' AND state = 'in_progress'"),
    )
    op.create_table(
        "live_updates",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("session_id", sa.Uuid(), primary_key=True),
        sa.Column("sequence", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )
    # What the pruner scans.
    op.create_index("live_updates_by_age", "live_updates", ["create_time"])


def downgrade() -> None:
    op.drop_table("live_updates")
    op.drop_index("workout_sessions_in_class", table_name="workout_sessions")
    op.drop_column("workout_sessions", "live_sequence")
    op.drop_column("workout_sessions", "max_heart_rate")
