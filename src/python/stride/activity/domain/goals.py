"""Goals a member works towards, and when one is reached."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from stride.platform.errors import FieldViolation, InvalidArgument


class GoalKind(enum.Enum):
    ONE_REP_MAX = "one_rep_max"
    WEEKLY_SESSIONS = "weekly_sessions"
    WEEKLY_VOLUME = "weekly_volume"

    @property
    def weekly(self) -> bool:
        return self is not GoalKind.ONE_REP_MAX


@dataclass(frozen=True)
class Goal:
    id: uuid.UUID
    member_id: uuid.UUID
    kind: GoalKind
    exercise: str  # One-rep-max goals only.
    target: float
    create_time: datetime
    achieve_time: datetime | None = None  # The last time it was reached.
    achieved_week: date | None = None  # A weekly goal's last week reached (its Monday).

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/goals/{self.id}"

    @property
    def achieved(self) -> bool:
        """Done for good: a one-rep max reached (weekly goals start again every week)."""
        return not self.kind.weekly and self.achieve_time is not None

    def reached_by(self, progress: float, week: date | None) -> bool:
        """Whether `progress` reaches it now for the first time (for a weekly goal: in `week`)."""
        if self.achieved or progress < self.target:
            return False
        return not self.kind.weekly or self.achieved_week != week


def validate_goal(kind: GoalKind | None, exercise: str, field: str) -> GoalKind:
    """A goal's kind says what it needs: an exercise for a one-rep max, none for a week."""
    if kind is None:
        raise InvalidArgument([FieldViolation(f"{field}.kind", "field.required")])
    if kind is GoalKind.ONE_REP_MAX and not exercise:
        raise InvalidArgument([FieldViolation(f"{field}.exercise", "field.required")])
    if kind.weekly and exercise:
        raise InvalidArgument([FieldViolation(f"{field}.exercise", "goal.no_exercise")])
    return kind


def week_of(day: date) -> date:
    """The Monday starting `day`'s week."""
    return day - timedelta(days=day.weekday())
