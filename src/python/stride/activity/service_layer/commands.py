"""What callers ask Activity to do, independent of the transport that carried the request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from stride.activity.domain.exercises import Exercise
from stride.activity.domain.goals import GoalKind
from stride.activity.domain.health import Device, DeviceType, GivenSample, RollupRange
from stride.activity.domain.live import HeartRate
from stride.activity.domain.programs import ProgramDay, Progression
from stride.activity.domain.providers import Provider
from stride.activity.domain.sessions import LoggedSet, SessionFields
from stride.activity.domain.templates import Block
from stride.platform.filtering import Comparison


@dataclass(frozen=True)
class CreateExercise:
    studio: str  # `studios/{studio}`
    exercise_id: str  # The slug the staff member chose.
    exercise: Exercise  # As given; its name is made from the two above.


@dataclass(frozen=True)
class ListExercises:
    studio: str  # `studios/{studio}` to include its own; empty for the library alone.
    query: str
    comparisons: tuple[Comparison, ...]
    offset: int
    limit: int


@dataclass(frozen=True)
class CreateWorkoutTemplate:
    studio: str
    display_name: str
    description: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class UploadWorkoutSession:
    member_id: uuid.UUID
    session_id: uuid.UUID
    fields: SessionFields
    sets: tuple[LoggedSet, ...]


@dataclass(frozen=True)
class CreateProgram:
    studio: str
    display_name: str
    description: str
    weeks: int
    days: tuple[ProgramDay, ...]
    deload_weeks: tuple[int, ...]
    progression: Progression


@dataclass(frozen=True)
class AssignProgram:
    studio: str
    program_id: uuid.UUID
    member_id: uuid.UUID
    start_date: str  # `YYYY-MM-DD` on the member's calendar.
    time_zone: str


@dataclass(frozen=True)
class SuggestNextSet:
    member_id: uuid.UUID
    assignment_id: uuid.UUID
    exercise: str


@dataclass(frozen=True)
class CreateGoal:
    member_id: uuid.UUID
    kind: GoalKind | None  # None: not given.
    exercise: str
    target: float


@dataclass(frozen=True)
class TemplateChanges:
    """A member's edit of their copy: None is unchanged."""

    display_name: str | None = None
    description: str | None = None
    blocks: tuple[Block, ...] | None = None


@dataclass(frozen=True)
class RecordHeartRate:
    member_id: uuid.UUID
    session_id: uuid.UUID
    readings: tuple[HeartRate, ...]


@dataclass(frozen=True)
class WatchWorkoutSession:
    member_id: uuid.UUID
    session_id: uuid.UUID
    after_sequence: int  # Send what came after this; 0 for all that is kept.


@dataclass(frozen=True)
class UploadHealthSamples:
    member_id: uuid.UUID
    source: str  # `healthkit` or `health_connect`.
    device: Device
    samples: tuple[GivenSample, ...]
    deleted_sample_ids: tuple[str, ...]
    sync_anchor: str  # Empty: keep the stored one.


@dataclass(frozen=True)
class ListHealthRollups:
    member_id: uuid.UUID
    wanted: RollupRange


@dataclass(frozen=True)
class UpdateHealthPriority:
    member_id: uuid.UUID
    device_priority: tuple[DeviceType, ...]


@dataclass(frozen=True)
class CompleteConnection:
    member_id: uuid.UUID
    provider: Provider
    code: str
    state: str
    scope: str  # As the provider's redirect gave it.


@dataclass(frozen=True)
class VerifyWebhook:
    """A provider's subscription check (Strava's `hub.*` query parameters)."""

    mode: str
    challenge: str
    verify_token: str


@dataclass(frozen=True)
class UploadActivityFile:
    member_id: uuid.UUID
    content_type: str  # As the client sent it; may be empty.
    data: bytes


@dataclass(frozen=True)
class GetActivityTrends:
    member_id: uuid.UUID
    weeks: int  # 0: the default.
    time_zone: str  # Empty: UTC.
