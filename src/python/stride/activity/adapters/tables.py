"""Activity's tables. Schema changes go through the Alembic versions beside this file."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel


class ExerciseRecord(SQLModel, table=True):
    __tablename__ = "exercises"
    __table_args__ = (Index("exercises_by_studio", "studio", "display_name_en"),)

    name: str = Field(primary_key=True, max_length=200)
    # `studios/{studio}` for a studio's own; empty for the shared library.
    studio: str = Field(default="", max_length=100)
    display_name_en: str = Field(max_length=100)
    display_name_ar: str = Field(max_length=100)
    category: str = Field(max_length=32)
    mechanics: str = Field(max_length=32)
    measurement: str = Field(max_length=32)
    primary_muscles: list[str] = Field(sa_column=Column(ARRAY(String(32)), nullable=False))
    secondary_muscles: list[str] = Field(sa_column=Column(ARRAY(String(32)), nullable=False))
    equipment: list[str] = Field(sa_column=Column(ARRAY(String(32)), nullable=False))
    image_uri: str = Field(max_length=2048)
    video_uri: str = Field(max_length=2048)
    alternatives: list[str] = Field(sa_column=Column(ARRAY(String(200)), nullable=False))
    instructions_en: str = Field(sa_column=Column(Text, nullable=False))
    instructions_ar: str = Field(sa_column=Column(Text, nullable=False))
    # The shipped library's version that wrote the row (0 for a studio's own).
    library_version: int = 0


class WorkoutTemplateRecord(SQLModel, table=True):
    __tablename__ = "workout_templates"
    __table_args__ = (Index("workout_templates_by_owner", "owner", "create_time"),)

    id: uuid.UUID = Field(primary_key=True)
    # `studios/{studio}` or `users/{user}` (a member's copy).
    owner: str = Field(max_length=100)
    source: str = Field(default="", max_length=200)
    display_name: str = Field(max_length=100)
    description: str = Field(sa_column=Column(Text, nullable=False))
    # The blocks as the domain holds them: they are read and written whole, never queried.
    blocks: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    author: str = Field(max_length=48)
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class WorkoutSessionRecord(SQLModel, table=True):
    __tablename__ = "workout_sessions"
    __table_args__ = (Index("workout_sessions_by_start", "member_id", "start_time"),)

    member_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    display_name: str = Field(max_length=100)
    workout_template: str = Field(max_length=200)
    class_session: str = Field(max_length=200)
    state: str = Field(max_length=16)
    start_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    end_time: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    notes: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(sa_column=Column(BigInteger, nullable=False))
    update_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    complete_time: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    time_zone: str = Field(default="UTC", max_length=64)
    max_heart_rate: int = 0
    # The sequence of the session's last live update; moved on under the session's lock.
    live_sequence: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class LoggedSetRecord(SQLModel, table=True):
    __tablename__ = "logged_sets"
    # A member's sets of one exercise: what their records are computed from.
    __table_args__ = (Index("logged_sets_by_exercise", "member_id", "exercise"),)

    member_id: uuid.UUID = Field(primary_key=True)
    session_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    exercise: str = Field(max_length=200)
    position: int
    reps: int
    weight_kg: float = Field(sa_column=Column(Double, nullable=False))
    reps_in_reserve: float | None = Field(default=None, sa_column=Column(Double))
    rpe: float | None = Field(default=None, sa_column=Column(Double))
    duration_seconds: int
    distance_meters: float = Field(sa_column=Column(Double, nullable=False))
    complete_time: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    version: int = Field(sa_column=Column(BigInteger, nullable=False))
    deleted: bool = Field(sa_column=Column(Boolean, nullable=False))


class PersonalRecordRecord(SQLModel, table=True):
    __tablename__ = "personal_records"

    member_id: uuid.UUID = Field(primary_key=True)
    exercise: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=32)
    # The rep count of a rep max; 0 for the estimated one-rep max (one per exercise).
    rep_key: int = Field(primary_key=True)
    reps: int
    weight_kg: float = Field(sa_column=Column(Double, nullable=False))
    set_weight_kg: float = Field(sa_column=Column(Double, nullable=False))
    session_id: uuid.UUID
    set_id: uuid.UUID
    achieve_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ProviderConnectionRecord(SQLModel, table=True):
    """A member's account at a provider. The tokens are sealed (AES-256-GCM under data key
    `data_key_id`, bound to the member and provider): they let anyone read the member's
    activities. A refresh is claimed with a lease, so one caller refreshes at a time without a
    lock held across the provider's answer."""

    __tablename__ = "provider_connections"
    # A provider's webhook names the account; one member holds it (the latest to connect it).
    __table_args__ = (
        Index("provider_connections_by_account", "provider", "account_id", unique=True),
    )

    member_id: uuid.UUID = Field(primary_key=True)
    provider: str = Field(primary_key=True, max_length=32)
    account_id: str = Field(max_length=64)
    scopes: list[str] = Field(sa_column=Column(ARRAY(String(64)), nullable=False))
    state: str = Field(max_length=16)
    data_key_id: str = Field(max_length=32)
    access_token_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    refresh_token_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    token_expire_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    refresh_lease_id: uuid.UUID | None = None
    refresh_lease_expire_time: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    update_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PendingAuthorizationRecord(SQLModel, table=True):
    """A started connection until completed or expired (pruned after). Its PKCE code verifier
    is sealed like the tokens it is exchanged for (under data key `data_key_id`)."""

    __tablename__ = "pending_authorizations"
    __table_args__ = (Index("pending_authorizations_by_expiry", "expire_time"),)

    state_digest: str = Field(primary_key=True, max_length=64)
    member_id: uuid.UUID
    provider: str = Field(max_length=32)
    expire_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    data_key_id: str = Field(max_length=32)
    code_verifier_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ImportedActivityRecord(SQLModel, table=True):
    __tablename__ = "imported_activities"
    __table_args__ = (Index("imported_activities_by_start", "member_id", "start_time"),)

    provider: str = Field(primary_key=True, max_length=32)
    external_id: str = Field(primary_key=True, max_length=64)
    member_id: uuid.UUID
    display_name: str = Field(sa_column=Column(Text, nullable=False))
    sport_type: str = Field(max_length=64)
    start_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    elapsed_seconds: int
    moving_seconds: int
    distance_meters: float = Field(sa_column=Column(Double, nullable=False))
    elevation_gain_meters: float = Field(sa_column=Column(Double, nullable=False))
    average_heart_rate: float | None = Field(default=None, sa_column=Column(Double))
    max_heart_rate: float | None = Field(default=None, sa_column=Column(Double))
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    update_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ActivityRouteRecord(SQLModel, table=True):
    """Where an uploaded activity went, point by point (the arrays in step; an elevation the
    file lacks is NULL): health data, kept only while the member consents to location. Goes
    with its activity."""

    __tablename__ = "activity_routes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["provider", "external_id"],
            ["imported_activities.provider", "imported_activities.external_id"],
            ondelete="CASCADE",
        ),
        Index("activity_routes_by_member", "member_id"),
    )

    provider: str = Field(primary_key=True, max_length=32)
    external_id: str = Field(primary_key=True, max_length=64)
    member_id: uuid.UUID
    times: list[datetime] = Field(sa_column=Column(ARRAY(DateTime(timezone=True)), nullable=False))
    latitudes: list[float] = Field(sa_column=Column(ARRAY(Double), nullable=False))
    longitudes: list[float] = Field(sa_column=Column(ARRAY(Double), nullable=False))
    elevations: list[float | None] = Field(sa_column=Column(ARRAY(Double), nullable=False))


class BestEffortRecord(SQLModel, table=True):
    """A member's fastest time over a distance, and the uploaded activity it was run in."""

    __tablename__ = "best_efforts"

    member_id: uuid.UUID = Field(primary_key=True)
    distance: str = Field(primary_key=True, max_length=16)
    elapsed_seconds: float = Field(sa_column=Column(Double, nullable=False))
    activity_id: str = Field(max_length=100)
    start_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ProgramRecord(SQLModel, table=True):
    __tablename__ = "programs"

    id: uuid.UUID = Field(primary_key=True)
    studio: str = Field(max_length=100)
    display_name: str = Field(max_length=100)
    description: str = Field(sa_column=Column(Text, nullable=False))
    weeks: int
    # [[week, day, template], ...] and the rule: read and written whole, never queried.
    days: list[list[Any]] = Field(sa_column=Column(JSONB, nullable=False))
    deload_weeks: list[int] = Field(sa_column=Column(ARRAY(Integer), nullable=False))
    progression: dict[str, float] = Field(sa_column=Column(JSONB, nullable=False))
    author: str = Field(max_length=48)
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ProgramAssignmentRecord(SQLModel, table=True):
    __tablename__ = "program_assignments"
    __table_args__ = (Index("program_assignments_by_member", "member_id", "start_date"),)

    member_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    program_id: uuid.UUID = Field(foreign_key="programs.id")
    start_date: date = Field(sa_column=Column(Date, nullable=False))
    time_zone: str = Field(max_length=64)
    assigned_by: str = Field(max_length=48)
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ClassWorkoutRecord(SQLModel, table=True):
    __tablename__ = "class_workouts"

    # `studios/{studio}/classSessions/{class_session}`: Scheduling's class, by name.
    class_session: str = Field(primary_key=True, max_length=200)
    workout_template_id: uuid.UUID = Field(foreign_key="workout_templates.id")
    update_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class TrainingDayRecord(SQLModel, table=True):
    """A day a member completed a session on, in that session's time zone."""

    __tablename__ = "training_days"

    member_id: uuid.UUID = Field(primary_key=True)
    day: date = Field(sa_column=Column(Date, primary_key=True))


class StreakRecord(SQLModel, table=True):
    __tablename__ = "streaks"
    # What the sweep for lapsed streaks reads.
    __table_args__ = (Index("streaks_running", "last_day", postgresql_where=text("days > 0")),)

    member_id: uuid.UUID = Field(primary_key=True)
    days: int
    longest: int
    last_day: date = Field(sa_column=Column(Date, nullable=False))
    time_zone: str = Field(max_length=64)


class GoalRecord(SQLModel, table=True):
    __tablename__ = "goals"
    __table_args__ = (Index("goals_by_member", "member_id", "create_time"),)

    member_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=32)
    exercise: str = Field(max_length=200)
    target: float = Field(sa_column=Column(Double, nullable=False))
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    achieve_time: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    achieved_week: date | None = Field(default=None, sa_column=Column(Date))


class DataConsentRecord(SQLModel, table=True):
    __tablename__ = "data_consents"

    member_id: uuid.UUID = Field(primary_key=True)
    heart_rate: bool
    location: bool
    sleep: bool
    update_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PendingDeletionRecord(SQLModel, table=True):
    """A member's request to delete all their data, waiting for its confirmation."""

    __tablename__ = "pending_deletions"

    member_id: uuid.UUID = Field(primary_key=True)
    token_digest: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    expire_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class LiveUpdateRecord(SQLModel, table=True):
    """A live session's update, kept a day for watchers resuming after a lost connection."""

    __tablename__ = "live_updates"
    __table_args__ = (Index("live_updates_by_age", "create_time"),)

    member_id: uuid.UUID = Field(primary_key=True)
    session_id: uuid.UUID = Field(primary_key=True)
    sequence: int = Field(sa_column=Column(BigInteger, primary_key=True))
    kind: str = Field(max_length=16)
    # The change as the domain holds it: read and written whole, never queried inside.
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
