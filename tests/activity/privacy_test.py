"""A member's say over their data against real Postgres: consent off until given, and deleting
everything only with the token of the member's latest request, in time — and only theirs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from stride.activity.adapters import tables
from stride.activity.adapters.repository import MEMBER_TABLES
from stride.activity.domain.goals import GoalKind
from stride.activity.domain.privacy import HealthData
from stride.activity.domain.sessions import LoggedSet, SessionFields, SessionState
from stride.activity.service_layer import handlers
from stride.activity.service_layer.commands import CreateGoal, UploadWorkoutSession
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.errors import InvalidArgument
from stride.platform.events.live import LiveSignals

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


def test_every_table_of_members_data_is_emptied_by_a_deletion() -> None:
    holding = {
        table
        for table in vars(tables).values()
        if isinstance(table, type)
        and getattr(table, "__table__", None) is not None
        and "member_id" in table.__table__.c  # type: ignore[attr-defined]
    }
    assert holding == set(MEMBER_TABLES)


def _at(moment: datetime) -> datetime:
    return moment


async def rows_of(new_uow: partial[ActivityUnitOfWork], member: uuid.UUID) -> int:
    """The member's rows in every table with a `member_id` (the raw SQL ones too)."""
    async with new_uow() as uow:
        tables = await uow.session.execute(
            text(
                "SELECT DISTINCT table_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND column_name = 'member_id'"
            )
        )
        total = 0
        names: list[str] = list(tables.scalars())
        for table in names:
            counted = await uow.session.execute(
                sa.select(sa.func.count())
                .select_from(sa.table(table))
                .where(sa.column("member_id") == member)
            )
            total += counted.scalar_one()
        return total


async def member_with_history(new_uow: partial[ActivityUnitOfWork], live: LiveSignals) -> uuid.UUID:
    member = uuid.uuid4()
    fields = SessionFields("", "", "", SessionState.COMPLETED, NOW - timedelta(hours=1), NOW, "", 1)
    sets = (LoggedSet(uuid.uuid4(), "exercises/barbell-back-squat", 0, 5, 100, version=1),)
    await handlers.upload_session(
        new_uow(), UploadWorkoutSession(member, uuid.uuid4(), fields, sets), live, lambda: NOW
    )
    await handlers.create_goal(new_uow(), CreateGoal(member, GoalKind.WEEKLY_SESSIONS, "", 3))
    await handlers.update_consent(new_uow(), member, {"heart_rate": True})
    return member


async def test_consent_is_off_until_given_and_changes_only_what_is_named(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    member = uuid.uuid4()
    none_yet = await handlers.get_consent(new_uow(), member)
    assert not any(none_yet.allows(kind) for kind in HealthData)
    await handlers.update_consent(new_uow(), member, {"heart_rate": True, "sleep": True})
    await handlers.update_consent(new_uow(), member, {"sleep": False})
    consent = await handlers.get_consent(new_uow(), member)
    assert (consent.heart_rate, consent.location, consent.sleep) == (True, False, False)


async def test_deleting_takes_the_latest_token_in_time_and_leaves_others_alone(
    new_uow: partial[ActivityUnitOfWork],
    live: LiveSignals,
) -> None:
    member, neighbour = await member_with_history(new_uow, live), await member_with_history(
        new_uow, live
    )
    before = await rows_of(new_uow, neighbour)
    first, _, counts = await handlers.start_deletion(new_uow(), member, lambda: NOW)
    assert counts == {"workout_sessions": 1, "personal_records": 2, "goals": 1}
    latest, pending, _ = await handlers.start_deletion(new_uow(), member, lambda: NOW)
    for token, at in ((first, NOW), ("x" * 32, NOW), (latest, pending.expire_time)):
        with pytest.raises(InvalidArgument):
            await handlers.delete_member_data(new_uow, {}, member, token, partial(_at, at))
    assert await rows_of(new_uow, member) > 1  # Nothing went.
    await handlers.delete_member_data(
        new_uow, {}, member, latest, lambda: NOW + timedelta(minutes=9)
    )
    assert await rows_of(new_uow, member) == 0
    assert await rows_of(new_uow, neighbour) == before
    with pytest.raises(InvalidArgument):  # Used up.
        await handlers.delete_member_data(new_uow, {}, member, latest, lambda: NOW)
