"""Studios, rooms, class types, class sessions and bookings.

Revision ID: scheduling_0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "scheduling_0001"
down_revision = None
branch_labels = ("scheduling",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "studios",
        sa.Column("slug", sa.String(63), primary_key=True),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("booking_window_days", sa.Integer(), nullable=False),
        sa.Column("booking_cutoff_minutes", sa.Integer(), nullable=False),
        sa.Column("late_cancel_hours", sa.Integer(), nullable=False),
        sa.Column("max_active_bookings", sa.Integer(), nullable=False),
    )
    op.create_table(
        "rooms",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "studio", sa.String(63), sa.ForeignKey("studios.slug"), nullable=False, index=True
        ),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
    )
    op.create_table(
        "class_types",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "studio", sa.String(63), sa.ForeignKey("studios.slug"), nullable=False, index=True
        ),
        sa.Column("display_name_en", sa.String(120), nullable=False),
        sa.Column("display_name_ar", sa.String(120), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.String(40)), nullable=True),
    )
    op.create_table(
        "class_sessions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("studio", sa.String(63), sa.ForeignKey("studios.slug"), nullable=False),
        sa.Column("class_type_id", sa.Uuid(), sa.ForeignKey("class_types.id"), nullable=False),
        sa.Column("room_id", sa.Uuid(), sa.ForeignKey("rooms.id"), nullable=False),
        sa.Column("instructor", sa.String(48), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("confirmed_count", sa.Integer(), nullable=False),
        sa.Column("waitlist_count", sa.Integer(), nullable=False),
        sa.Column("next_waitlist_seq", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "confirmed_count >= 0 AND confirmed_count <= capacity", name="within_capacity"
        ),
        sa.CheckConstraint("waitlist_count >= 0", name="waitlist_not_negative"),
    )
    op.create_index("class_sessions_by_start", "class_sessions", ["studio", "start_time"])
    op.create_table(
        "bookings",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), sa.ForeignKey("class_sessions.id"), nullable=False),
        sa.Column("studio", sa.String(63), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("waitlist_seq", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("class_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "one_active_booking_per_member",
        "bookings",
        ["session_id", "member_id"],
        unique=True,
        postgresql_where=sa.text("state IN ('confirmed', 'waitlisted')"),
    )
    op.create_index("bookings_by_member", "bookings", ["member_id", "class_start"])


def downgrade() -> None:
    for table in ("bookings", "class_sessions", "class_types", "rooms", "studios"):
        op.drop_table(table)
