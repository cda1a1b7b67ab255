"""Streaks and the week's training against real Postgres: days trained in the member's time zone
extend a streak (announced from two days on), a whole day missed ends it (announced once by the
sweep), and the week adds sets up per muscle group."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

from activity.support import published

from stride.activity.domain.sessions import LoggedSet, SessionFields, SessionState
from stride.activity.events.v1.events_pb2 import StreakChanged
from stride.activity.service_layer import event_types, handlers
from stride.activity.service_layer.commands import UploadWorkoutSession
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.events.live import LiveSignals

SQUAT, ROW = "exercises/barbell-back-squat", "exercises/barbell-bent-over-row"
RIYADH = "Asia/Riyadh"
# 20:00 in Riyadh on Monday 2026-11-30.
MONDAY_EVENING = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


async def train(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
    member: uuid.UUID,
    ended: datetime,
    *sets: LoggedSet,
) -> None:
    fields = SessionFields(
        "", "", "", SessionState.COMPLETED, ended - timedelta(hours=1), ended, "", 1, RIYADH
    )
    command = UploadWorkoutSession(member, uuid.uuid4(), fields, sets)
    await handlers.upload_session(new_uow(), command, live, lambda: ended + timedelta(minutes=1))


async def streak_events(
    new_uow: partial[ActivityUnitOfWork], member: uuid.UUID
) -> list[tuple[str, int]]:
    found = await published(new_uow, "activity.streak.%", StreakChanged, member)
    return [(event_type, payload.days) for event_type, payload in found]


async def test_a_streak_grows_day_by_day_and_ends_once_a_day_is_missed(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    member = uuid.uuid4()
    await train(new_uow, live, member, MONDAY_EVENING)
    await train(new_uow, live, member, MONDAY_EVENING + timedelta(hours=2))  # Same day: no news.
    await train(new_uow, live, member, MONDAY_EVENING + timedelta(days=1))
    # 23:30 UTC on Tuesday is 02:30 on Wednesday in Riyadh: Wednesday's session.
    await train(new_uow, live, member, MONDAY_EVENING + timedelta(days=1, hours=6, minutes=30))
    assert await streak_events(new_uow, member) == [
        (event_types.STREAK_EXTENDED, 2),
        (event_types.STREAK_EXTENDED, 3),
    ]

    thursday = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)  # 23:00: Wednesday is "yesterday".
    await handlers.announce_broken_streaks(new_uow(), thursday, 500)
    assert len(await streak_events(new_uow, member)) == 2
    friday = datetime(2026, 12, 3, 21, 30, tzinfo=UTC)  # 00:30 Friday: Thursday went by.
    await handlers.announce_broken_streaks(new_uow(), friday, 500)
    await handlers.announce_broken_streaks(new_uow(), friday + timedelta(hours=1), 500)
    assert (await streak_events(new_uow, member))[2:] == [(event_types.STREAK_BROKEN, 3)]
    _, streak = await handlers.training_summary(new_uow(), member, friday, friday)
    assert streak is not None
    assert (streak.days, streak.longest) == (0, 3)


async def test_the_week_adds_up_sets_and_kilograms_per_muscle(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    member = uuid.uuid4()

    def lifted(exercise: str, reps: int, weight: float) -> LoggedSet:
        return LoggedSet(uuid.uuid4(), exercise, 0, reps, weight, version=1)

    await train(new_uow, live, member, MONDAY_EVENING, lifted(SQUAT, 5, 100), lifted(SQUAT, 5, 100))
    await train(new_uow, live, member, MONDAY_EVENING + timedelta(days=2), lifted(ROW, 10, 60))
    await train(new_uow, live, member, MONDAY_EVENING + timedelta(days=9), lifted(SQUAT, 5, 200))
    start = MONDAY_EVENING - timedelta(hours=20)
    week, streak = await handlers.training_summary(
        new_uow(), member, start, start + timedelta(days=7)
    )
    assert (week.sessions, week.class_sessions) == (2, 0)
    by_muscle = {m.muscle: (m.sets, m.volume_kg) for m in week.muscle_volumes}
    assert by_muscle["quads"] == (2.0, 1000.0)
    assert by_muscle["upper_back"] == (1.0, 600.0)
    assert streak is not None
    assert streak.last_day.isoformat() == "2026-12-09"
