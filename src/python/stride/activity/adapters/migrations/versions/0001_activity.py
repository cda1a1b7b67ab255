"""Exercises, workout templates, logged sessions and sets, personal records.

Revision ID: activity_0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "activity_0001"
down_revision = None
branch_labels = ("activity",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exercises",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("studio", sa.String(100), nullable=False),
        sa.Column("display_name_en", sa.String(100), nullable=False),
        sa.Column("display_name_ar", sa.String(100), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("mechanics", sa.String(32), nullable=False),
        sa.Column("measurement", sa.String(32), nullable=False),
        sa.Column("primary_muscles", postgresql.ARRAY(sa.String(32)), nullable=False),
        sa.Column("secondary_muscles", postgresql.ARRAY(sa.String(32)), nullable=False),
        sa.Column("equipment", postgresql.ARRAY(sa.String(32)), nullable=False),
        sa.Column("image_uri", sa.String(2048), nullable=False),
        sa.Column("video_uri", sa.String(2048), nullable=False),
        sa.Column("alternatives", postgresql.ARRAY(sa.String(200)), nullable=False),
        sa.Column("instructions_en", sa.Text(), nullable=False),
        sa.Column("instructions_ar", sa.Text(), nullable=False),
        sa.Column("library_version", sa.Integer(), nullable=False),
    )
    op.create_index("exercises_by_studio", "exercises", ["studio", "display_name_en"])
    op.create_table(
        "workout_templates",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("blocks", postgresql.JSONB(), nullable=False),
        sa.Column("author", sa.String(48), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("workout_templates_by_owner", "workout_templates", ["owner", "create_time"])
    op.create_table(
        "workout_sessions",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("workout_template", sa.String(200), nullable=False),
        sa.Column("class_session", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("complete_time", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("workout_sessions_by_start", "workout_sessions", ["member_id", "start_time"])
    op.create_table(
        "logged_sets",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("session_id", sa.Uuid(), primary_key=True),
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("exercise", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("weight_kg", sa.Double(), nullable=False),
        sa.Column("reps_in_reserve", sa.Double(), nullable=True),
        sa.Column("rpe", sa.Double(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("distance_meters", sa.Double(), nullable=False),
        sa.Column("complete_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id", "session_id"], ["workout_sessions.member_id", "workout_sessions.id"]
        ),
    )
    op.create_index("logged_sets_by_exercise", "logged_sets", ["member_id", "exercise"])
    op.create_table(
        "personal_records",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("exercise", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("rep_key", sa.Integer(), primary_key=True),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("weight_kg", sa.Double(), nullable=False),
        sa.Column("set_weight_kg", sa.Double(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("set_id", sa.Uuid(), nullable=False),
        sa.Column("achieve_time", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "personal_records",
        "logged_sets",
        "workout_sessions",
        "workout_templates",
        "exercises",
    ):
        op.drop_table(table)
