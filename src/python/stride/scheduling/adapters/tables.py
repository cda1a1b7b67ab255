"""Scheduling's tables. Schema changes go through the Alembic versions beside this file."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, DateTime, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel


class StudioRecord(SQLModel, table=True):
    __tablename__ = "studios"

    slug: str = Field(primary_key=True, max_length=63)
    display_name: str = Field(max_length=120)
    time_zone: str = Field(max_length=64)
    booking_window_days: int
    booking_cutoff_minutes: int
    late_cancel_hours: int
    max_active_bookings: int


class RoomRecord(SQLModel, table=True):
    __tablename__ = "rooms"

    id: uuid.UUID = Field(primary_key=True)
    studio: str = Field(foreign_key="studios.slug", index=True)
    display_name: str = Field(max_length=120)
    capacity: int
    spots: list[str] | None = Field(default=None, sa_column=Column(ARRAY(String(16))))


class ClassTypeRecord(SQLModel, table=True):
    __tablename__ = "class_types"

    id: uuid.UUID = Field(primary_key=True)
    studio: str = Field(foreign_key="studios.slug", index=True)
    display_name_en: str = Field(max_length=120)
    display_name_ar: str = Field(max_length=120)
    duration_minutes: int
    level: str = Field(max_length=16)
    tags: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String(40))))


class ClassSessionRecord(SQLModel, table=True):
    __tablename__ = "class_sessions"
    __table_args__ = (
        # The database itself refuses an overbooked class, whatever the code above it does.
        CheckConstraint("confirmed_count >= 0 AND confirmed_count <= capacity", "within_capacity"),
        CheckConstraint("waitlist_count >= 0", "waitlist_not_negative"),
        Index("class_sessions_by_start", "studio", "start_time"),
    )

    id: uuid.UUID = Field(primary_key=True)
    studio: str = Field(foreign_key="studios.slug")
    class_type_id: uuid.UUID = Field(foreign_key="class_types.id")
    room_id: uuid.UUID = Field(foreign_key="rooms.id")
    instructor: str = Field(default="", max_length=48)
    start_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    end_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    capacity: int
    confirmed_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    waitlist_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    # Waitlist order: each waitlisted booking takes the next number, under the class's row lock.
    next_waitlist_seq: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class BookingRecord(SQLModel, table=True):
    __tablename__ = "bookings"
    __table_args__ = (
        # One live booking per member per class, enforced by the database.
        Index(
            "one_active_booking_per_member",
            "session_id",
            "member_id",
            unique=True,
            postgresql_where=text("state IN ('confirmed', 'waitlisted')"),
        ),
        Index("bookings_by_member", "member_id", "class_start"),
        # One holder per spot per class.
        Index(
            "one_holder_per_spot",
            "session_id",
            "spot",
            unique=True,
            postgresql_where=text("spot IS NOT NULL AND state IN ('confirmed', 'attended')"),
        ),
    )

    id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID
    session_id: uuid.UUID = Field(foreign_key="class_sessions.id")
    studio: str = Field(max_length=63)
    state: str = Field(max_length=16)
    waitlist_seq: int | None = None
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    class_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    checked_in_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    spot: str | None = Field(default=None, max_length=16)


class InstructorAvailabilityRecord(SQLModel, table=True):
    __tablename__ = "instructor_availability"

    studio: str = Field(primary_key=True, max_length=63)
    instructor_id: uuid.UUID = Field(primary_key=True)
    # {"weekly": {"1": [["07:00", "12:00"]]}, "exceptions": {"2026-12-24": []}}
    document: str = Field(sa_column=Column(Text, nullable=False))
