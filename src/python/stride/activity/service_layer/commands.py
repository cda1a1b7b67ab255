"""What callers ask Activity to do, independent of the transport that carried the request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from stride.activity.domain.exercises import Exercise
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
