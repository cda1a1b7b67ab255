"""Logging sessions against real Postgres: uploads repeated, raced and edited store one session,
announce its completion once, and keep the member's records — raised, corrected, never doubled."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from activity.support import published

from stride.activity.domain.exercises import Exercise, Measurement
from stride.activity.domain.records import RecordKind
from stride.activity.domain.sessions import LoggedSet, SessionFields, SessionState
from stride.activity.domain.templates import Block, BlockKind, PlannedSet
from stride.activity.events.v1.events_pb2 import PersonalRecordsSet, SessionCompleted
from stride.activity.service_layer import event_types, handlers
from stride.activity.service_layer.commands import (
    CreateExercise,
    CreateWorkoutTemplate,
    ListExercises,
    UploadWorkoutSession,
)
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.auth import Principal, authenticated_as
from stride.platform.errors import AlreadyExists, InvalidArgument
from stride.platform.events.live import LiveSignals
from stride.platform.filtering import Comparison, Operator

SQUAT, BENCH = "exercises/barbell-back-squat", "exercises/barbell-bench-press"
PLANK = "exercises/plank"
NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
COACH = Principal(str(uuid.uuid4()), frozenset({"instructor"}), studio="studios/olaya")


def clock() -> datetime:
    return NOW


async def completions(
    new_uow: partial[ActivityUnitOfWork], member: uuid.UUID
) -> list[SessionCompleted]:
    found = await published(new_uow, event_types.SESSION_COMPLETED, SessionCompleted, member)
    return [payload for _, payload in found]


async def records_set(
    new_uow: partial[ActivityUnitOfWork], member: uuid.UUID
) -> list[PersonalRecordsSet]:
    found = await published(new_uow, event_types.PERSONAL_RECORD_SET, PersonalRecordsSet, member)
    return [payload for _, payload in found]


def lifted(
    exercise: str, weight: float, reps: int, version: int = 1, position: int = 0
) -> LoggedSet:
    return LoggedSet(uuid.uuid4(), exercise, position, reps, weight, version=version)


def upload(
    member: uuid.UUID,
    session: uuid.UUID,
    sets: tuple[LoggedSet, ...],
    *,
    completed: bool = True,
    version: int = 1,
    template: str = "",
) -> UploadWorkoutSession:
    fields = SessionFields(
        display_name="Legs",
        workout_template=template,
        class_session="",
        state=SessionState.COMPLETED if completed else SessionState.IN_PROGRESS,
        start_time=NOW - timedelta(hours=1),
        end_time=NOW if completed else None,
        notes="",
        version=version,
    )
    return UploadWorkoutSession(member, session, fields, sets)


async def test_an_offline_session_uploaded_twice_is_one_session_announced_once(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    member, session_id = uuid.uuid4(), uuid.uuid4()
    sets = (lifted(SQUAT, 100, 5), lifted(SQUAT, 110, 3, position=1), lifted(PLANK, 0, 0))
    first = await handlers.upload_session(new_uow(), upload(member, session_id, sets), live, clock)
    again = await handlers.upload_session(new_uow(), upload(member, session_id, sets), live, clock)
    assert again == first
    assert await handlers.list_sessions(new_uow(), member, 0, 10) == [first]
    (completed,) = await completions(new_uow, member)
    assert (completed.set_count, completed.volume_kg) == (3, 100 * 5 + 110 * 3)
    (records,) = await records_set(new_uow, member)
    assert records.exercise == SQUAT
    assert records.exercise_display_name_ar
    assert {(r.kind, r.reps): r.weight_kg for r in records.records} == {
        ("estimated_one_rep_max", 3): pytest.approx(110 * 36 / 34),
        ("rep_max", 5): 100,
        ("rep_max", 3): 110,
    }


async def test_uploads_of_one_session_racing_each_other_store_it_once(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    member, session_id = uuid.uuid4(), uuid.uuid4()
    sets = (lifted(BENCH, 80, 5),)
    command = upload(member, session_id, sets)
    results = await asyncio.gather(
        *(handlers.upload_session(new_uow(), command, live, clock) for _ in range(8))
    )
    assert len({result.id for result in results}) == 1
    assert len(await completions(new_uow, member)) == 1
    assert len(await records_set(new_uow, member)) == 1


async def test_an_edit_that_raises_a_set_is_a_record_and_one_that_lowers_it_a_correction(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    member = uuid.uuid4()
    earlier, later = uuid.uuid4(), uuid.uuid4()
    await handlers.upload_session(
        new_uow(), upload(member, earlier, (lifted(SQUAT, 100, 5),)), live, clock
    )
    best = lifted(SQUAT, 105, 5)
    await handlers.upload_session(new_uow(), upload(member, later, (best,)), live, clock)
    raised = replace(best, weight_kg=107.5, version=2)
    await handlers.upload_session(new_uow(), upload(member, later, (raised,)), live, clock)
    announced = await records_set(new_uow, member)
    assert [
        [(r.reps, r.weight_kg, r.previous_weight_kg) for r in e.records if r.kind == "rep_max"]
        for e in announced
    ] == [
        [(5, 100, 0)],
        [(5, 105, 100)],
        [(5, 107.5, 105)],
    ]
    typo = replace(best, weight_kg=10, version=3)  # The member fixes a mistyped weight.
    await handlers.upload_session(new_uow(), upload(member, later, (typo,)), live, clock)
    records = await handlers.list_records(new_uow(), member, 0, 10)
    rep_max = next(r for r in records if r.kind is RecordKind.REP_MAX and r.reps == 5)
    assert (rep_max.weight_kg, rep_max.lift.session_id) == (100, earlier)
    assert len(await records_set(new_uow, member)) == 3


async def test_an_in_progress_session_sets_no_record_until_it_is_completed(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    member, session_id = uuid.uuid4(), uuid.uuid4()
    sets = (lifted(SQUAT, 60, 5),)
    await handlers.upload_session(
        new_uow(), upload(member, session_id, sets, completed=False), live, clock
    )
    assert await handlers.list_records(new_uow(), member, 0, 10) == []
    await handlers.upload_session(new_uow(), upload(member, session_id, (), version=2), live, clock)
    assert len(await handlers.list_records(new_uow(), member, 0, 10)) == 2
    assert len(await completions(new_uow, member)) == 1


async def test_an_upload_naming_what_does_not_exist_is_refused_and_stores_nothing(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    member, session_id = uuid.uuid4(), uuid.uuid4()
    sets = (lifted(SQUAT, 60, 5), lifted("exercises/levitation", 0, 5))
    missing_template = f"studios/olaya/workoutTemplates/{uuid.uuid4()}"
    with pytest.raises(InvalidArgument) as raised:
        await handlers.upload_session(
            new_uow(), upload(member, session_id, sets, template=missing_template), live, clock
        )
    assert {v.field for v in raised.value.violations} == {
        "workout_session.sets[1].exercise",
        "workout_session.workout_template",
    }
    assert await handlers.list_sessions(new_uow(), member, 0, 10) == []


async def test_a_studio_s_exercises_serve_its_own_workouts_only(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    own = Exercise(
        name="",
        display_name_en="Sandbag clean",
        display_name_ar="كلين بكيس الرمل",
        category="strength",
        mechanics="compound",
        measurement=Measurement.WEIGHT_REPS,
        primary_muscles=("glutes", "hamstrings"),
        alternatives=("exercises/power-clean",),
    )
    slug = f"sandbag-clean-{uuid.uuid4().hex[:6]}"
    with authenticated_as(COACH):
        created = await handlers.create_exercise(
            new_uow(), CreateExercise("studios/olaya", slug, own)
        )
        with pytest.raises(AlreadyExists):
            await handlers.create_exercise(new_uow(), CreateExercise("studios/olaya", slug, own))
        planned = (Block(BlockKind.STRAIGHT_SETS, (PlannedSet(created.name, 5, 5),)),)
        template = await handlers.create_template(
            new_uow(), CreateWorkoutTemplate("studios/olaya", "Strongman", "", planned), clock
        )
        with pytest.raises(InvalidArgument) as raised:
            await handlers.create_template(
                new_uow(), CreateWorkoutTemplate("studios/other", "Copy", "", planned), clock
            )
    assert template.author == f"users/{COACH.user_id}"
    assert [v.field for v in raised.value.violations] == [
        "workout_template.blocks[0].sets[0].exercise"
    ]
    listed = ListExercises("studios/olaya", "كيس", (), 0, 10)
    assert [e.name for e in await handlers.list_exercises(new_uow(), listed)] == [created.name]
    elsewhere = replace(listed, studio="studios/other")
    assert await handlers.list_exercises(new_uow(), elsewhere) == []


async def test_the_library_is_searched_in_either_language_and_filtered_by_muscle(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    quads = (Comparison("muscle", Operator.EQUAL, "quads"),)
    squats = await handlers.list_exercises(new_uow(), ListExercises("", "squat", quads, 0, 100))
    assert SQUAT in {e.name for e in squats}
    assert all("quads" in e.primary_muscles for e in squats)
    arabic = await handlers.list_exercises(new_uow(), ListExercises("", "سكوات", (), 0, 100))
    assert SQUAT in {e.name for e in arabic}
    # Starting again changes nothing: the shipped version is in.
    async with new_uow() as uow:
        library = await handlers.get_exercise(new_uow(), SQUAT)
        assert library.display_name_ar == "سكوات خلفي بالبار"
        assert await uow.exercises.sync_library((library,), 1) == 0
