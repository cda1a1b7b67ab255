"""Instructors' weekly hours and exceptions per studio.

Revision ID: scheduling_0004
Revises: scheduling_0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "scheduling_0004"
down_revision = "scheduling_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instructor_availability",
        sa.Column("studio", sa.String(63), primary_key=True),
        sa.Column("instructor_id", sa.Uuid(), primary_key=True),
        sa.Column("document", sa.Text(), nullable=False),
    )
    # Finding an instructor's overlapping classes.
    op.create_index("class_sessions_by_instructor", "class_sessions", ["instructor", "start_time"])


def downgrade() -> None:
    op.drop_index("class_sessions_by_instructor", "class_sessions")
    op.drop_table("instructor_availability")
