"""Logging sessions against real Postgres: uploads repeated, raced and edited store one session,
announce its completion once, and keep the member's records — raised, corrected, never doubled."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import pytest_asyncio
from sqlmodel import col, select

from stride.activity.domain.exercises import Exercise, Measurement
from stride.activity.domain.records import RecordKind
from stride.activity.domain.sessions import LoggedSet, SessionFields, SessionState
from stride.activity.domain.templates import Block, BlockKind, PlannedSet
from stride.activity.events.v1.events_pb2 import PersonalRecordsSet, SessionCompleted
from stride.activity.main import MIGRATIONS, sync_library
from stride.activity.service_layer import handlers
from stride.activity.service_layer.commands import (
    CreateExercise,
    CreateWorkoutTemplate,
    ListExercises,
    UploadWorkoutSession,
)
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.auth import Principal, authenticated_as
from stride.platform.crypto.sealing import DataKeyring, new_data_key_spec
from stride.platform.db.engine import session_factory
from stride.platform.errors import AlreadyExists, InvalidArgument
from stride.platform.events.outbox import OutboxRecord
from stride.platform.filtering import Comparison, Operator
from stride.platform.testing.fixtures import migrated_engine

SQUAT, BENCH = "exercises/barbell-back-squat", "exercises/barbell-bench-press"
PLANK = "exercises/plank"
NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
COACH = Principal(str(uuid.uuid4()), frozenset({"instructor"}), studio="studios/olaya")


def clock() -> datetime:
    return NOW


@pytest_asyncio.fixture(scope="module")
async def new_uow(database_url: str) -> AsyncIterator[partial[ActivityUnitOfWork]]:
    async with migrated_engine(database_url, MIGRATIONS) as engine:
        data_keys = DataKeyring.from_spec(new_data_key_spec("test1"), "test1")
        factory = partial(ActivityUnitOfWork, session_factory(engine), data_keys)
        await sync_library(factory, "https://media.example")
        yield factory


async def events(new_uow: partial[ActivityUnitOfWork], event_type: str, member: uuid.UUID) -> list:
    """The payloads of `event_type` in the outbox about `member`'s sessions."""
    payload_type = {
        handlers.SESSION_COMPLETED: SessionCompleted,
        handlers.PERSONAL_RECORD_SET: PersonalRecordsSet,
    }[event_type]
    async with new_uow() as uow:
        rows = await uow.session.execute(
            select(OutboxRecord)
            .where(col(OutboxRecord.event_type) == event_type)
            .order_by(col(OutboxRecord.position))
        )
        found = []
        for row in rows.scalars():
            payload = payload_type()
            Envelope.FromString(row.payload).data.Unpack(payload)
            if payload.member == f"users/{member}":
                found.append(payload)
        return found


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
) -> None:
    member, session_id = uuid.uuid4(), uuid.uuid4()
    sets = (lifted(SQUAT, 100, 5), lifted(SQUAT, 110, 3, position=1), lifted(PLANK, 0, 0))
    first = await handlers.upload_session(new_uow(), upload(member, session_id, sets), clock)
    again = await handlers.upload_session(new_uow(), upload(member, session_id, sets), clock)
    assert again == first
    assert await handlers.list_sessions(new_uow(), member, 0, 10) == [first]
    (completed,) = await events(new_uow, handlers.SESSION_COMPLETED, member)
    assert (completed.set_count, completed.volume_kg) == (3, 100 * 5 + 110 * 3)
    (records,) = await events(new_uow, handlers.PERSONAL_RECORD_SET, member)
    assert records.exercise == SQUAT
    assert records.exercise_display_name_ar
    assert {(r.kind, r.reps): r.weight_kg for r in records.records} == {
        ("estimated_one_rep_max", 3): pytest.approx(110 * 36 / 34),
        ("rep_max", 5): 100,
        ("rep_max", 3): 110,
    }


async def test_uploads_of_one_session_racing_each_other_store_it_once(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member, session_id = uuid.uuid4(), uuid.uuid4()
    sets = (lifted(BENCH, 80, 5),)
    command = upload(member, session_id, sets)
    results = await asyncio.gather(
        *(handlers.upload_session(new_uow(), command, clock) for _ in range(8))
    )
    assert len({result.id for result in results}) == 1
    assert len(await events(new_uow, handlers.SESSION_COMPLETED, member)) == 1
    assert len(await events(new_uow, handlers.PERSONAL_RECORD_SET, member)) == 1


async def test_an_edit_that_raises_a_set_is_a_record_and_one_that_lowers_it_a_correction(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = uuid.uuid4()
    earlier, later = uuid.uuid4(), uuid.uuid4()
    await handlers.upload_session(
        new_uow(), upload(member, earlier, (lifted(SQUAT, 100, 5),)), clock
    )
    best = lifted(SQUAT, 105, 5)
    await handlers.upload_session(new_uow(), upload(member, later, (best,)), clock)
    raised = replace(best, weight_kg=107.5, version=2)
    await handlers.upload_session(new_uow(), upload(member, later, (raised,)), clock)
    announced = await events(new_uow, handlers.PERSONAL_RECORD_SET, member)
    assert [
        [(r.reps, r.weight_kg, r.previous_weight_kg) for r in e.records if r.kind == "rep_max"]
        for e in announced
    ] == [
        [(5, 100, 0)],
        [(5, 105, 100)],
        [(5, 107.5, 105)],
    ]
    typo = replace(best, weight_kg=10, version=3)  # The member fixes a mistyped weight.
    await handlers.upload_session(new_uow(), upload(member, later, (typo,)), clock)
    records = await handlers.list_records(new_uow(), member, 0, 10)
    rep_max = next(r for r in records if r.kind is RecordKind.REP_MAX and r.reps == 5)
    assert (rep_max.weight_kg, rep_max.lift.session_id) == (100, earlier)
    assert len(await events(new_uow, handlers.PERSONAL_RECORD_SET, member)) == 3


async def test_an_in_progress_session_sets_no_record_until_it_is_completed(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member, session_id = uuid.uuid4(), uuid.uuid4()
    sets = (lifted(SQUAT, 60, 5),)
    await handlers.upload_session(
        new_uow(), upload(member, session_id, sets, completed=False), clock
    )
    assert await handlers.list_records(new_uow(), member, 0, 10) == []
    await handlers.upload_session(new_uow(), upload(member, session_id, (), version=2), clock)
    assert len(await handlers.list_records(new_uow(), member, 0, 10)) == 2
    assert len(await events(new_uow, handlers.SESSION_COMPLETED, member)) == 1


async def test_an_upload_naming_what_does_not_exist_is_refused_and_stores_nothing(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member, session_id = uuid.uuid4(), uuid.uuid4()
    sets = (lifted(SQUAT, 60, 5), lifted("exercises/levitation", 0, 5))
    missing_template = f"studios/olaya/workoutTemplates/{uuid.uuid4()}"
    with pytest.raises(InvalidArgument) as raised:
        await handlers.upload_session(
            new_uow(), upload(member, session_id, sets, template=missing_template), clock
        )
    assert {v.field for v in raised.value.violations} == {
        "workout_session.sets[1].exercise",
        "workout_session.workout_template",
    }
    assert await handlers.list_sessions(new_uow(), member, 0, 10) == []


async def test_a_studio_s_exercises_serve_its_own_workouts_only(
    new_uow: partial[ActivityUnitOfWork],
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
