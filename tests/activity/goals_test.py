"""Goals against real Postgres: progress read from what the member logged, and each reached
announced once — a one-rep max for good, a weekly goal every week it is met."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

from activity.support import published

from stride.activity.domain.goals import GoalKind
from stride.activity.domain.sessions import LoggedSet, SessionFields, SessionState
from stride.activity.events.v1.events_pb2 import GoalAchieved
from stride.activity.service_layer import event_types, handlers
from stride.activity.service_layer.commands import CreateGoal, UploadWorkoutSession
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.events.live import LiveSignals

SQUAT = "exercises/barbell-back-squat"
MONDAY = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


async def train(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
    member: uuid.UUID,
    start: datetime,
    weight: float,
) -> None:
    fields = SessionFields(
        "", "", "", SessionState.COMPLETED, start, start + timedelta(hours=1), "", 1, "Asia/Riyadh"
    )
    logged = LoggedSet(uuid.uuid4(), SQUAT, 0, 5, weight, version=1)
    command = UploadWorkoutSession(member, uuid.uuid4(), fields, (logged,))
    await handlers.upload_session(new_uow(), command, live, lambda: start + timedelta(hours=2))


async def achieved(
    new_uow: partial[ActivityUnitOfWork], member: uuid.UUID
) -> list[tuple[str, str]]:
    found = await published(new_uow, event_types.GOAL_ACHIEVED, GoalAchieved, member)
    return [(payload.kind, payload.week_start_date) for _, payload in found]


async def test_goals_are_reached_from_what_is_logged_and_announced_once(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    member = uuid.uuid4()
    strength = await handlers.create_goal(
        new_uow(), CreateGoal(member, GoalKind.ONE_REP_MAX, SQUAT, 120), lambda: MONDAY
    )
    twice = await handlers.create_goal(
        new_uow(), CreateGoal(member, GoalKind.WEEKLY_SESSIONS, "", 2), lambda: MONDAY
    )
    await train(new_uow, live, member, MONDAY, 100)
    await train(new_uow, live, member, MONDAY + timedelta(days=1), 107.5)  # e1RM 120.9: reached.
    await train(new_uow, live, member, MONDAY + timedelta(days=2), 110)  # A third session: no news.
    await train(new_uow, live, member, MONDAY + timedelta(days=7), 90)
    await train(new_uow, live, member, MONDAY + timedelta(days=8), 90)  # The next week's two.
    assert sorted(await achieved(new_uow, member)) == [
        ("one_rep_max", ""),
        ("weekly_sessions", "2026-11-30"),
        ("weekly_sessions", "2026-12-07"),
    ]
    listed = await handlers.list_goals(new_uow(), member, 0, 10, lambda: MONDAY + timedelta(days=9))
    progress = {goal.id: (value, goal.achieved) for goal, value in listed}
    assert progress[strength.id][1] is True
    assert progress[strength.id][0] > 120
    assert progress[twice.id] == (2, False)
    await handlers.delete_goal(new_uow(), member, twice.id)
    assert [goal.id for goal, _ in await handlers.list_goals(new_uow(), member, 0, 10)] == [
        strength.id
    ]
