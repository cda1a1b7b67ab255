"""Where a member is on a program, and the next set double progression gives them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from stride.activity.domain.programs import (
    Assignment,
    Program,
    ProgramDay,
    Progression,
    Reason,
    suggest,
    validate_program,
)
from stride.activity.domain.sessions import LoggedSet
from stride.activity.domain.templates import PlannedSet
from stride.platform.errors import InvalidArgument

SQUAT = "exercises/barbell-back-squat"
PLANNED = PlannedSet(SQUAT, reps_min=6, reps_max=8, weight_kg=100, reps_in_reserve=2)
RULE = Progression(load_increment_kg=2.5, min_reps_in_reserve=2, deload_percent=10)


def last(
    reps: int, weight: float = 100, rir: float | None = None, rpe: float | None = None
) -> LoggedSet:
    return LoggedSet(uuid.uuid4(), SQUAT, 0, reps, weight, reps_in_reserve=rir, rpe=rpe)


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        (None, (6, 100.0, Reason.AS_PLANNED)),
        (last(8, rir=2), (6, 102.5, Reason.MORE_LOAD)),
        (last(8, rpe=7.5), (6, 102.5, Reason.MORE_LOAD)),  # RPE 7.5 leaves 2.5 in reserve.
        (last(6, rir=3), (7, 100.0, Reason.MORE_REPS)),
        (last(8, rir=1), (8, 100.0, Reason.REPEAT)),
        (last(7), (7, 100.0, Reason.REPEAT)),  # Effort not logged: no reason to push.
    ],
)
def test_double_progression_moves_on_from_the_last_set(
    logged: LoggedSet | None, expected: tuple[int, float, Reason]
) -> None:
    found = suggest(PLANNED, logged, None, RULE, deload=False)
    assert (found.reps, found.weight_kg, found.reason) == expected
    assert found.reps_in_reserve == 2


def test_a_deload_week_backs_off_in_whole_plates() -> None:
    found = suggest(PLANNED, last(8, weight=102.5, rir=2), None, RULE, deload=True)
    assert (found.reps, found.weight_kg, found.reason) == (6, 92.0, Reason.DELOAD)


def test_a_share_of_the_one_rep_max_is_loaded_from_the_best_estimate() -> None:
    planned = PlannedSet(SQUAT, reps_min=5, reps_max=5, percent_one_rep_max=75)
    assert suggest(planned, None, 141.0, RULE, deload=False).weight_kg == 106.0


def test_the_program_day_follows_the_member_s_calendar() -> None:
    assignment = Assignment(
        uuid.uuid4(),
        uuid.uuid4(),
        "studios/a/programs/b",
        date(2026, 12, 1),
        "Asia/Riyadh",
        "",
        datetime.now(UTC),
    )
    # 21:30 UTC on 2026-12-07 is already 2026-12-08 in Riyadh: week 2, day 1.
    assert assignment.position(datetime(2026, 12, 7, 21, 30, tzinfo=UTC), weeks=4) == (2, 1)
    assert assignment.position(datetime(2026, 11, 30, 12, tzinfo=UTC), weeks=4) == (0, 0)
    assert assignment.position(datetime(2026, 12, 29, 12, tzinfo=UTC), weeks=4) == (0, 0)


def test_a_program_names_each_day_once_and_within_its_weeks() -> None:
    template = "studios/a/workoutTemplates/t"
    with pytest.raises(InvalidArgument) as raised:
        validate_program(
            4,
            (ProgramDay(1, 1, template), ProgramDay(1, 1, template), ProgramDay(5, 2, template)),
            (6,),
            "program",
        )
    assert {(v.field, v.message_key) for v in raised.value.violations} == {
        ("program.days[1]", "program.day_twice"),
        ("program.days[2].week", "program.past_end"),
        ("program.deload_weeks[0]", "program.past_end"),
    }


def test_workouts_from_a_day_on_wrap_around_to_the_start() -> None:
    days = tuple(ProgramDay(w, d, f"t{w}{d}") for w, d in ((1, 1), (1, 3), (2, 1)))
    program = Program(uuid.uuid4(), "studios/a", "P", "", 2, days, (), RULE, "", datetime.now(UTC))
    assert [d.workout_template for d in program.from_day(1, 2)] == ["t13", "t21", "t11"]
