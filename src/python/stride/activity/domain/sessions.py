"""Workout sessions as members log them: offline first, on more than one device, so an upload
is merged into what is stored rather than replacing it.

Every set and the session's own fields carry the app's edit counter (`version`). Merging keeps,
for each, the copy with the higher version; an equal version keeps the stored copy, so an
upload sent twice, or an older device's upload arriving late, changes nothing. A set is never
removed by being left out of an upload (an upload may carry only what changed); the app deletes
one by sending it with `deleted`. A completed session stays completed.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.time_zones import is_time_zone

MAX_SETS = 500
# How far ahead of the server's clock a phone's clock may run before its times are refused.
CLOCK_SKEW = timedelta(minutes=5)
MAX_SESSION_LENGTH = timedelta(hours=24)
MIN_MAX_HEART_RATE = 100  # A maximum heart rate below this is a typo, not a heart.


class SessionState(enum.Enum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


@dataclass(frozen=True)
class LoggedSet:
    id: uuid.UUID
    exercise: str
    position: int = 0
    reps: int = 0
    weight_kg: float = 0.0
    reps_in_reserve: float | None = None
    rpe: float | None = None
    duration_seconds: int = 0
    distance_meters: float = 0.0
    complete_time: datetime | None = None
    version: int = 0
    deleted: bool = False

    @property
    def volume_kg(self) -> float:
        return 0.0 if self.deleted else self.weight_kg * self.reps


@dataclass(frozen=True)
class SessionFields:
    """What the app edits on the session itself, under one version."""

    display_name: str
    workout_template: str
    class_session: str
    state: SessionState
    start_time: datetime
    end_time: datetime | None
    notes: str
    version: int
    time_zone: str = "UTC"  # The phone's, when the member trained: the day it counts for.
    max_heart_rate: int = 0  # 0: the studio's default applies (`domain.live`).

    @property
    def training_day(self) -> date:
        """The member's calendar day the session counts for: the day it started, where it was
        (as the week's summary counts it)."""
        return self.start_time.astimezone(ZoneInfo(self.time_zone)).date()


@dataclass(frozen=True)
class WorkoutSession:
    member_id: uuid.UUID
    id: uuid.UUID
    fields: SessionFields
    sets: tuple[LoggedSet, ...]
    update_time: datetime
    complete_time: datetime | None = None  # When the server first saw it completed.
    live_sequence: int = 0  # Its last live update's (`domain.live`).

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/workoutSessions/{self.id}"

    @property
    def completed(self) -> bool:
        return self.fields.state is SessionState.COMPLETED

    @property
    def live_sets(self) -> tuple[LoggedSet, ...]:
        return tuple(s for s in self.sets if not s.deleted)

    @property
    def volume_kg(self) -> float:
        return sum(s.volume_kg for s in self.sets)


@dataclass(frozen=True)
class Merge:
    session: WorkoutSession
    changed_sets: tuple[LoggedSet, ...]  # Added or replaced: what to write.
    fields_changed: bool
    completed_now: bool  # This upload completed it.

    @property
    def changed(self) -> bool:
        return self.fields_changed or bool(self.changed_sets)

    @property
    def changed_exercises(self) -> frozenset[str]:
        return frozenset(s.exercise for s in self.changed_sets)


def validate_upload(fields: SessionFields, sets: tuple[LoggedSet, ...], now: datetime) -> None:
    """An upload that could be a workout: its times in order and not in the future, and its sets
    named once each."""
    violations = []
    if not is_time_zone(fields.time_zone):
        violations.append(FieldViolation("workout_session.time_zone", "field.invalid_time_zone"))
    latest = now + CLOCK_SKEW
    if fields.start_time > latest:
        violations.append(FieldViolation("workout_session.start_time", "workout_session.in_future"))
    end = fields.end_time
    if fields.state is SessionState.COMPLETED and end is None:
        violations.append(
            FieldViolation("workout_session.end_time", "workout_session.end_required")
        )
    if end is not None:
        if end > latest:
            violations.append(
                FieldViolation("workout_session.end_time", "workout_session.in_future")
            )
        elif end < fields.start_time:
            violations.append(
                FieldViolation("workout_session.end_time", "workout_session.ends_first")
            )
        elif end - fields.start_time > MAX_SESSION_LENGTH:
            violations.append(
                FieldViolation("workout_session.end_time", "workout_session.too_long")
            )
    if 0 < fields.max_heart_rate < MIN_MAX_HEART_RATE:
        violations.append(
            FieldViolation(
                "workout_session.max_heart_rate",
                "workout_session.max_heart_rate_low",
                {"min": MIN_MAX_HEART_RATE},
            )
        )
    seen: set[uuid.UUID] = set()
    for index, logged in enumerate(sets):
        if logged.id in seen:
            violations.append(
                FieldViolation(f"workout_session.sets[{index}].id", "logged_set.repeated")
            )
        seen.add(logged.id)
        if logged.complete_time is not None and logged.complete_time > latest:
            violations.append(
                FieldViolation(
                    f"workout_session.sets[{index}].complete_time", "workout_session.in_future"
                )
            )
    if violations:
        raise InvalidArgument(violations)


def merge(
    stored: WorkoutSession | None,
    member_id: uuid.UUID,
    session_id: uuid.UUID,
    fields: SessionFields,
    sets: tuple[LoggedSet, ...],
    now: datetime,
) -> Merge:
    """The session once this upload is merged into what is stored (None: nothing yet)."""
    if stored is None:
        session = WorkoutSession(member_id, session_id, fields, (), now)
        fields_changed, was_completed = True, False
    else:
        session, was_completed = stored, stored.completed
        fields_changed = fields.version > stored.fields.version
        if fields_changed:
            state = SessionState.COMPLETED if was_completed else fields.state
            end_time = fields.end_time or stored.fields.end_time
            session = replace(session, fields=replace(fields, state=state, end_time=end_time))
    by_id = {s.id: s for s in session.sets}
    changed = []
    for logged in sets:
        current = by_id.get(logged.id)
        if current is None or logged.version > current.version:
            by_id[logged.id] = logged
            changed.append(logged)
    if len(by_id) > MAX_SETS:
        raise InvalidArgument(
            [FieldViolation("workout_session.sets", "field.too_many", {"max": MAX_SETS})]
        )
    completed_now = session.completed and not was_completed
    merged = replace(
        session,
        sets=tuple(sorted(by_id.values(), key=lambda s: (s.position, str(s.id)))),
        update_time=now if (fields_changed or changed) else session.update_time,
        complete_time=now if completed_now else session.complete_time,
    )
    return Merge(merged, tuple(changed), fields_changed, completed_now)
