"""Programs of workouts and the members on them; the workouts classes do; streaks; goals; consent
and deletions.

Revision ID: activity_0003
Revises: activity_0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "activity_0003"
down_revision = "activity_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "programs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("studio", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("weeks", sa.Integer(), nullable=False),
        sa.Column("days", postgresql.JSONB(), nullable=False),
        sa.Column("deload_weeks", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("progression", postgresql.JSONB(), nullable=False),
        sa.Column("author", sa.String(48), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "program_assignments",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("program_id", sa.Uuid(), sa.ForeignKey("programs.id"), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("assigned_by", sa.String(48), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "program_assignments_by_member", "program_assignments", ["member_id", "start_date"]
    )
    op.create_table(
        "class_workouts",
        sa.Column("class_session", sa.String(200), primary_key=True),
        sa.Column(
            "workout_template_id",
            sa.Uuid(),
            sa.ForeignKey("workout_templates.id"),
            nullable=False,
        ),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )

    op.add_column(
        "workout_sessions",
        sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"),
    )
    op.create_table(
        "training_days",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
    )
    op.create_table(
        "streaks",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("longest", sa.Integer(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
    )
    op.create_index(
        "streaks_running", "streaks", ["last_day"], postgresql_where=sa.text("days > 0")
    )
    op.create_table(
        "goals",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("exercise", sa.String(200), nullable=False),
        sa.Column("target", sa.Double(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("achieve_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("achieved_week", sa.Date(), nullable=True),
    )
    op.create_index("goals_by_member", "goals", ["member_id", "create_time"])
    op.create_table(
        "data_consents",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("heart_rate", sa.Boolean(), nullable=False),
        sa.Column("location", sa.Boolean(), nullable=False),
        sa.Column("sleep", sa.Boolean(), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "pending_deletions",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("token_digest", sa.LargeBinary(), nullable=False),
        sa.Column("expire_time", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pending_deletions")
    op.drop_table("data_consents")
    op.drop_table("goals")
    op.drop_table("streaks")
    op.drop_table("training_days")
    op.drop_column("workout_sessions", "time_zone")
    op.drop_table("class_workouts")
    op.drop_table("program_assignments")
    op.drop_table("programs")
