"""Programs against real Postgres: a coach writes one from the studio's workouts, puts a member
on it, and the member's next set moves on from what they logged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from stride.activity.domain.programs import ProgramDay, Progression, Reason
from stride.activity.domain.sessions import LoggedSet, SessionFields, SessionState
from stride.activity.domain.templates import Block, BlockKind, PlannedSet
from stride.activity.service_layer import handlers
from stride.activity.service_layer.commands import (
    AssignProgram,
    CreateProgram,
    CreateWorkoutTemplate,
    SuggestNextSet,
    UploadWorkoutSession,
)
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.auth import Principal, authenticated_as
from stride.platform.errors import FailedPrecondition, InvalidArgument, NotFound
from stride.platform.events.live import LiveSignals

SQUAT, BENCH = "exercises/barbell-back-squat", "exercises/barbell-bench-press"
STUDIO = "studios/olaya"
COACH = Principal(str(uuid.uuid4()), frozenset({"instructor"}), studio=STUDIO)
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 12:00 in Riyadh.


async def program_with_squats(new_uow: partial[ActivityUnitOfWork]) -> str:
    """A four-week program, squats on day 1 and bench on day 3, week 4 a deload."""
    squats = PlannedSet(SQUAT, 6, 8, weight_kg=100, reps_in_reserve=2)
    bench = PlannedSet(BENCH, 8, 10, weight_kg=60)
    with authenticated_as(COACH):
        templates = [
            await handlers.create_template(
                new_uow(),
                CreateWorkoutTemplate(STUDIO, name, "", (Block(BlockKind.STRAIGHT_SETS, (p,)),)),
            )
            for name, p in (("Squat day", squats), ("Bench day", bench))
        ]
        days = tuple(
            ProgramDay(week, day, template.resource_name)
            for week in range(1, 5)
            for day, template in ((1, templates[0]), (3, templates[1]))
        )
        program = await handlers.create_program(
            new_uow(), CreateProgram(STUDIO, "Strength base", "", 4, days, (4,), Progression())
        )
    return program.resource_name


async def log(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
    member: uuid.UUID,
    at: datetime,
    reps: int,
    rir: float,
) -> None:
    fields = SessionFields(
        "Squats", "", "", SessionState.COMPLETED, at, at + timedelta(minutes=40), "", 1
    )
    logged = LoggedSet(uuid.uuid4(), SQUAT, 0, reps, 100, reps_in_reserve=rir, version=1)
    command = UploadWorkoutSession(member, uuid.uuid4(), fields, (logged,))
    await handlers.upload_session(new_uow(), command, live, lambda: at + timedelta(hours=1))


async def test_a_member_s_next_set_moves_on_through_the_weeks(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    program = await program_with_squats(new_uow)
    member = uuid.uuid4()
    studio, _, program_id = program.partition("/programs/")
    with authenticated_as(COACH):
        assignment = await handlers.assign_program(
            new_uow(),
            AssignProgram(studio, uuid.UUID(program_id), member, "2026-11-30", "Asia/Riyadh"),
        )
    assert assignment.assigned_by == f"users/{COACH.user_id}"
    assert await handlers.list_assignments(new_uow(), member, 0, 10) == [assignment]
    ask = SuggestNextSet(member, assignment.id, SQUAT)

    first = await handlers.suggest_next_set(new_uow(), ask, lambda: MONDAY)
    assert first[1:] == (1, 1)
    assert (first[0].reps, first[0].weight_kg, first[0].reason) == (6, 100, Reason.AS_PLANNED)

    await log(new_uow, live, member, MONDAY, reps=8, rir=2)  # The top of the range, two left.
    after = await handlers.suggest_next_set(new_uow(), ask, lambda: MONDAY + timedelta(days=7))
    assert after[1:] == (2, 1)
    assert (after[0].reps, after[0].weight_kg, after[0].reason) == (6, 102.5, Reason.MORE_LOAD)

    deload = await handlers.suggest_next_set(new_uow(), ask, lambda: MONDAY + timedelta(days=21))
    assert deload[1:] == (4, 1)
    assert (deload[0].weight_kg, deload[0].reason) == (90, Reason.DELOAD)

    # Bench is on day 3: asked on day 2, the next workout with it is planned.
    bench = await handlers.suggest_next_set(
        new_uow(), SuggestNextSet(member, assignment.id, BENCH), lambda: MONDAY + timedelta(days=1)
    )
    assert (bench[0].reps, bench[0].weight_kg, bench[1:]) == (8, 60, (1, 2))


async def test_what_a_program_cannot_hold_or_a_member_cannot_ask_is_refused(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    program = await program_with_squats(new_uow)
    studio, _, program_id = program.partition("/programs/")
    elsewhere = f"studios/other/workoutTemplates/{uuid.uuid4()}"
    with authenticated_as(COACH), pytest.raises(InvalidArgument) as raised:
        await handlers.create_program(
            new_uow(),
            CreateProgram(STUDIO, "P", "", 2, (ProgramDay(1, 1, elsewhere),), (), Progression()),
        )
    assert [v.field for v in raised.value.violations] == ["program.days[0].workout_template"]
    member = uuid.uuid4()
    with authenticated_as(COACH):
        assignment = await handlers.assign_program(
            new_uow(),
            AssignProgram(studio, uuid.UUID(program_id), member, "2026-11-30", "Asia/Riyadh"),
        )
        with pytest.raises(InvalidArgument):
            await handlers.assign_program(
                new_uow(),
                AssignProgram(studio, uuid.UUID(program_id), member, "30/11/2026", "Mars/Olympus"),
            )
    with pytest.raises(FailedPrecondition):
        await handlers.suggest_next_set(
            new_uow(), SuggestNextSet(member, assignment.id, "exercises/plank"), lambda: MONDAY
        )
    with pytest.raises(NotFound):  # Someone else's assignment is not found under this member.
        await handlers.suggest_next_set(
            new_uow(), SuggestNextSet(uuid.uuid4(), assignment.id, SQUAT), lambda: MONDAY
        )
