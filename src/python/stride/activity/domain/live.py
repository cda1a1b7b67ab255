"""A live session as those watching it hear it: an ordered log of updates (sets logged, heart
rates with their zones, the session's state), numbered 1, 2, 3… per session with no gap, so a
watcher that lost its connection asks for what came after the last number it has.

Heart-rate zones are those of `domain.heart_rate`. Without a maximum on the session the
studio's default applies (`220 − age` needs an age, which Activity does not hold).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from stride.activity.domain.heart_rate import zone_of
from stride.activity.domain.sessions import (
    CLOCK_SKEW,
    LoggedSet,
    SessionState,
    WorkoutSession,
)
from stride.platform.errors import FieldViolation, InvalidArgument

MAX_READINGS = 120


class UpdateKind(enum.Enum):
    SET = "set"
    HEART_RATE = "heart_rate"
    STATE = "state"


@dataclass(frozen=True)
class HeartRate:
    time: datetime
    bpm: int
    zone: int = 0  # Computed when stored.


@dataclass(frozen=True)
class LiveChange:
    """What an update says, before the log gives it its number."""

    kind: UpdateKind
    logged_set: LoggedSet | None = None
    heart_rate: HeartRate | None = None
    state: SessionState | None = None


@dataclass(frozen=True)
class LiveUpdate:
    member_id: uuid.UUID
    session_id: uuid.UUID
    sequence: int
    create_time: datetime
    change: LiveChange

    @property
    def session_name(self) -> str:
        return f"users/{self.member_id}/workoutSessions/{self.session_id}"


def upload_changes(
    changed_sets: Sequence[LoggedSet], created: bool, completed_now: bool
) -> list[LiveChange]:
    """What an upload tells the watchers: the session started, its sets that changed, and its
    completion — in that order."""
    changes = []
    if created:
        changes.append(LiveChange(UpdateKind.STATE, state=SessionState.IN_PROGRESS))
    changes += [LiveChange(UpdateKind.SET, logged_set=logged) for logged in changed_sets]
    if completed_now:
        changes.append(LiveChange(UpdateKind.STATE, state=SessionState.COMPLETED))
    return changes


def heart_rate_changes(
    session: WorkoutSession,
    readings: Sequence[HeartRate],
    now: datetime,
    default_max_heart_rate: int,
) -> list[LiveChange]:
    """The readings with their zones; refused whole if any is outside the session or in the
    future."""
    if not readings:
        raise InvalidArgument([FieldViolation("readings", "field.required")])
    fields = session.fields
    latest = now + CLOCK_SKEW
    if fields.end_time is not None:
        latest = min(latest, fields.end_time)
    violations = []
    for index, reading in enumerate(readings):
        if reading.time > now + CLOCK_SKEW:
            violations.append(
                FieldViolation(f"readings[{index}].time", "workout_session.in_future")
            )
        elif not fields.start_time <= reading.time <= latest:
            violations.append(
                FieldViolation(f"readings[{index}].time", "workout_session.reading_outside")
            )
    if violations:
        raise InvalidArgument(violations)
    maximum = fields.max_heart_rate or default_max_heart_rate
    return [
        LiveChange(
            UpdateKind.HEART_RATE,
            heart_rate=HeartRate(reading.time, reading.bpm, zone_of(reading.bpm, maximum)),
        )
        for reading in readings
    ]


@dataclass(frozen=True)
class Heartbeat:
    """Nothing new in the session since `sequence`: the stream is alive."""

    sequence: int


def session_topic(member_id: uuid.UUID, session_id: uuid.UUID) -> str:
    """What the watchers of a session wait on."""
    return f"users/{member_id}/workoutSessions/{session_id}"


def class_topic(class_session: str) -> str:
    """What the watchers of a class's heart-rate board wait on."""
    return f"{class_session}/heartRates"


@dataclass(frozen=True)
class SessionHeartRate:
    """A live session's latest heart rate, for its class's board."""

    member_id: uuid.UUID
    session_id: uuid.UUID
    sequence: int
    heart_rate: HeartRate
