"""Programs: a coach's weeks of workouts, a member put on one from a date, and the next set an
exercise calls for on it (double progression, with deload weeks)."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from stride.activity.domain.sessions import LoggedSet
from stride.activity.domain.templates import PlannedSet
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.time_zones import is_time_zone

DAYS_PER_WEEK = 7
# Loads are suggested in steps a gym's plates make: half a kilogram.
_LOAD_STEP_KG = 0.5


@dataclass(frozen=True)
class Progression:
    load_increment_kg: float = 2.5
    min_reps_in_reserve: float = 2.0
    deload_percent: float = 10.0


@dataclass(frozen=True)
class ProgramDay:
    week: int
    day: int
    workout_template: str


@dataclass(frozen=True)
class Program:
    id: uuid.UUID
    studio: str  # `studios/{studio}`
    display_name: str
    description: str
    weeks: int
    days: tuple[ProgramDay, ...]
    deload_weeks: tuple[int, ...]
    progression: Progression
    author: str
    create_time: datetime

    @property
    def resource_name(self) -> str:
        return f"{self.studio}/programs/{self.id}"

    @property
    def templates(self) -> frozenset[str]:
        return frozenset(day.workout_template for day in self.days)

    def on(self, week: int, day: int) -> ProgramDay | None:
        return next((d for d in self.days if (d.week, d.day) == (week, day)), None)

    def from_day(self, week: int, day: int) -> list[ProgramDay]:
        """The program's workouts from that day on, in order (then from its start again: a
        member may be behind)."""
        ordered = sorted(self.days, key=lambda d: (d.week, d.day))
        later = [d for d in ordered if (d.week, d.day) >= (week, day)]
        return later + [d for d in ordered if d not in later]


@dataclass(frozen=True)
class Assignment:
    id: uuid.UUID
    member_id: uuid.UUID
    program: str  # `studios/{studio}/programs/{program}`
    start_date: date
    time_zone: str
    assigned_by: str
    create_time: datetime

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/programAssignments/{self.id}"

    def position(self, now: datetime, weeks: int) -> tuple[int, int]:
        """(week, day) of the program on the member's calendar at `now`; (0, 0) before it
        starts or once it has ended."""
        elapsed = (now.astimezone(ZoneInfo(self.time_zone)).date() - self.start_date).days
        if elapsed < 0 or elapsed >= weeks * DAYS_PER_WEEK:
            return 0, 0
        return elapsed // DAYS_PER_WEEK + 1, elapsed % DAYS_PER_WEEK + 1


class Reason(enum.Enum):
    AS_PLANNED = "as_planned"
    MORE_LOAD = "more_load"
    MORE_REPS = "more_reps"
    REPEAT = "repeat"
    DELOAD = "deload"


@dataclass(frozen=True)
class Suggestion:
    exercise: str
    reps: int
    weight_kg: float
    reps_in_reserve: float | None
    reason: Reason


def validate_program(
    weeks: int, days: tuple[ProgramDay, ...], deload_weeks: tuple[int, ...], field: str
) -> None:
    violations = []
    if not days:
        violations.append(FieldViolation(f"{field}.days", "field.required"))
    seen = set()
    for index, day in enumerate(days):
        if day.week > weeks:
            violations.append(FieldViolation(f"{field}.days[{index}].week", "program.past_end"))
        if (day.week, day.day) in seen:
            violations.append(FieldViolation(f"{field}.days[{index}]", "program.day_twice"))
        seen.add((day.week, day.day))
    violations.extend(
        FieldViolation(f"{field}.deload_weeks[{index}]", "program.past_end")
        for index, week in enumerate(deload_weeks)
        if week > weeks
    )
    if violations:
        raise InvalidArgument(violations)


def validate_assignment_start(start_date: str, time_zone: str) -> date:
    violations = []
    if not is_time_zone(time_zone):
        violations.append(FieldViolation("time_zone", "field.invalid_time_zone"))
    try:
        start = date.fromisoformat(start_date)
    except ValueError:
        violations.append(FieldViolation("start_date", "field.invalid_format"))
    if violations:
        raise InvalidArgument(violations)
    return start


def suggest(
    planned: PlannedSet,
    last: LoggedSet | None,
    best_estimate_kg: float | None,
    progression: Progression,
    deload: bool,
) -> Suggestion:
    """The next set of `planned`'s exercise: as planned until something is logged (a load as a
    share of the one-rep max taken from the member's best estimate), then moved on from the last
    set by double progression; lighter in a deload week."""
    reps_min, reps_max = planned.reps_min, planned.reps_max or planned.reps_min
    target_rir = planned.reps_in_reserve
    weight = planned.weight_kg
    if not weight and planned.percent_one_rep_max and best_estimate_kg:
        weight = best_estimate_kg * planned.percent_one_rep_max / 100
    if last is not None and last.weight_kg > 0:
        weight = last.weight_kg
    if deload:  # From the working weight, not moved on: the week is for recovering.
        weight = weight * (1 - progression.deload_percent / 100)
        return Suggestion(planned.exercise, reps_min, _plates(weight), target_rir, Reason.DELOAD)
    reps, reason = reps_min, Reason.AS_PLANNED
    if last is not None and last.weight_kg > 0:
        in_reserve = _reps_in_reserve(last)
        easy = in_reserve is not None and in_reserve >= progression.min_reps_in_reserve
        if easy and last.reps >= reps_max:
            weight, reps, reason = (
                weight + progression.load_increment_kg,
                reps_min,
                Reason.MORE_LOAD,
            )
        elif easy:
            reps, reason = min(max(last.reps + 1, reps_min), reps_max), Reason.MORE_REPS
        else:
            reps, reason = max(last.reps, reps_min), Reason.REPEAT
    return Suggestion(planned.exercise, reps, _plates(weight), target_rir, reason)


def _reps_in_reserve(logged: LoggedSet) -> float | None:
    """What the member logged as left in the tank: reps in reserve, or RPE read as 10 − RIR."""
    if logged.reps_in_reserve is not None:
        return logged.reps_in_reserve
    return 10 - logged.rpe if logged.rpe is not None else None


def _plates(weight_kg: float) -> float:
    return round(weight_kg / _LOAD_STEP_KG) * _LOAD_STEP_KG
