"""Trends against real Postgres: the hourly health figures make the member's local days (an
evening in Dubai is its own day, not the next UTC day's), each day from the device ranked
first; heart-rate figures only with consent; classes attended, in progress or completed,
against sessions alone, and the weeks in a row with a class."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest
import pytest_asyncio
from activity.support import POLICY, consenting, make_months

from stride.activity.domain.health import Device, DeviceType, GivenSample, HealthKind
from stride.activity.domain.sessions import LoggedSet, SessionFields, SessionState
from stride.activity.domain.trends import Trends
from stride.activity.service_layer import handlers, health, trends
from stride.activity.service_layer.commands import (
    GetActivityTrends,
    UploadHealthSamples,
    UploadWorkoutSession,
)
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.events.live import LiveSignals

# 22:00 on Wednesday 2026-12-02 in Dubai (UTC+4), 18:00 UTC.
NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
DUBAI = "Asia/Dubai"
MONDAY, TUESDAY, WEDNESDAY = date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)
WATCH = Device(DeviceType.WATCH, "Apple Inc.", "Watch6,1", "Apple Watch")
PHONE = Device(DeviceType.PHONE, "Apple Inc.", "iPhone15,2", "iPhone")
SQUAT = "exercises/barbell-back-squat"


def clock() -> datetime:
    return NOW


@pytest_asyncio.fixture(scope="module", autouse=True)
async def months_made(new_uow: partial[ActivityUnitOfWork]) -> None:
    await make_months(new_uow, clock)


def heart_rates(prefix: str, start: datetime, bpm: float, seconds: int) -> list[GivenSample]:
    """A reading a second."""
    return [
        GivenSample(f"{prefix}-{n}", HealthKind.HEART_RATE, bpm, "count/min", at, at)
        for n in range(seconds)
        for at in [start + timedelta(seconds=n)]
    ]


def counted(prefix: str, kind: HealthKind, value: float, start: datetime) -> GivenSample:
    """A total over ten minutes, or a resting heart rate (an instant)."""
    if kind is HealthKind.RESTING_HEART_RATE:
        return GivenSample(prefix, kind, value, "count/min", start, start)
    return GivenSample(prefix, kind, value, "count", start, start + timedelta(minutes=10))


async def upload(
    new_uow: partial[ActivityUnitOfWork],
    member: uuid.UUID,
    device: Device,
    samples: list[GivenSample],
) -> None:
    command = UploadHealthSamples(member, "healthkit", device, tuple(samples), (), "")
    await health.upload_samples(new_uow(), command, POLICY, clock)


async def read(
    new_uow: partial[ActivityUnitOfWork], member: uuid.UUID, time_zone: str, weeks: int = 1
) -> Trends:
    _, found = await trends.activity_trends(
        new_uow(), GetActivityTrends(member, weeks, time_zone), clock
    )
    return found


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


async def test_local_days_by_device_priority_with_heart_rate_only_on_consent(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = await consenting(new_uow, uuid.uuid4())
    # 23:30 on Tuesday in Dubai: 10 minutes at 175 bpm (92 % of 190, zone 5): load 50.
    watch = heart_rates("late", at(TUESDAY, 19, 30), 175, 600)
    # 00:30 on Wednesday in Dubai (still Tuesday in UTC): 5 minutes at 135 bpm (zone 3): 15.
    watch += heart_rates("after-midnight", at(TUESDAY, 20, 30), 135, 300)
    watch += [
        counted("steps-morning", HealthKind.STEPS, 1000, at(TUESDAY, 6)),
        counted("resting-mon", HealthKind.RESTING_HEART_RATE, 58, at(MONDAY, 3)),
        counted("resting-wed", HealthKind.RESTING_HEART_RATE, 56, at(WEDNESDAY, 3)),
    ]
    await upload(new_uow, member, WATCH, watch)
    # The phone measured Tuesday too (ranked second: its day is not the one read, nor added
    # to the watch's) and Monday, which the watch did not: Monday is the phone's.
    phone = heart_rates("phone", at(TUESDAY, 19, 30), 100, 60)
    phone += [
        counted("steps-same-day", HealthKind.STEPS, 1200, at(TUESDAY, 6, 20)),
        counted("steps-alone", HealthKind.STEPS, 500, at(MONDAY, 8)),
    ]
    await upload(new_uow, member, PHONE, phone)

    found = await read(new_uow, member, DUBAI)
    assert not found.heart_rate_withheld
    by_day = {day.day: day for day in found.days}
    assert list(by_day) == [MONDAY, TUESDAY, WEDNESDAY]
    tuesday, wednesday = by_day[TUESDAY], by_day[WEDNESDAY]
    assert tuesday.zone_minutes == (0, 0, 0, 0, 10)
    assert tuesday.load == pytest.approx(50)
    assert wednesday.load == pytest.approx(15)
    assert wednesday.acute_load == pytest.approx(65)
    assert wednesday.chronic_load == pytest.approx(65 / 4)
    assert wednesday.load_ratio == pytest.approx(4)
    assert [by_day[d].resting_heart_rate for d in by_day] == [58, None, 56]
    assert wednesday.resting_heart_rate_7d_average == pytest.approx(57)
    assert [by_day[d].steps for d in by_day] == [500, 1000, None]
    (week,) = found.weeks
    assert (week.days, week.steps, week.step_days) == (3, 1500, 2)
    assert week.load == pytest.approx(65)

    # In UTC both workouts were on Tuesday.
    in_utc = {day.day: day for day in (await read(new_uow, member, "UTC")).days}
    assert in_utc[TUESDAY].load == pytest.approx(65)
    assert in_utc[WEDNESDAY].load == 0

    await handlers.update_consent(new_uow(), member, {"heart_rate": False})
    withheld = await read(new_uow, member, DUBAI)
    assert withheld.heart_rate_withheld
    assert [(d.load, d.resting_heart_rate, d.steps) for d in withheld.days] == [
        (None, None, 500),
        (None, None, 1000),
        (None, None, None),
    ]


async def test_classes_attended_against_training_alone_and_the_weeks_in_a_row(
    new_uow: partial[ActivityUnitOfWork], live: LiveSignals
) -> None:
    member = uuid.uuid4()

    async def session(
        start: datetime, class_session: str, state: SessionState, *sets: tuple[int, float]
    ) -> None:
        fields = SessionFields(
            "", "", class_session, state, start, start + timedelta(hours=1), "", 1, DUBAI
        )
        logged = tuple(
            LoggedSet(uuid.uuid4(), SQUAT, n, reps, kg, version=1)
            for n, (reps, kg) in enumerate(sets)
        )
        command = UploadWorkoutSession(member, uuid.uuid4(), fields, logged)
        await handlers.upload_session(new_uow(), command, live, clock)

    done, open_ = SessionState.COMPLETED, SessionState.IN_PROGRESS
    await session(at(MONDAY, 14), "studios/s1/classSessions/a", done, (5, 100), (5, 100))
    await session(at(TUESDAY, 5), "", done, (10, 60))
    await session(at(TUESDAY, 6), "", open_, (10, 60))  # Not completed: not counted.
    # Checked in a week ago and never completed in the app: attended all the same.
    await session(at(MONDAY - timedelta(days=6), 14), "studios/s1/classSessions/b", open_)
    await session(at(MONDAY - timedelta(days=14), 14), "studios/s1/classSessions/c", done)
    await session(at(MONDAY - timedelta(days=28), 14), "studios/s1/classSessions/d", done)

    found = await read(new_uow, member, DUBAI, weeks=4)
    assert [w.week_start for w in found.weeks] == [
        MONDAY - timedelta(days=21),
        MONDAY - timedelta(days=14),
        MONDAY - timedelta(days=7),
        MONDAY,
    ]
    assert [(w.classes_attended, w.sessions, w.class_sessions) for w in found.weeks] == [
        (0, 0, 0),
        (1, 1, 1),
        (1, 0, 0),
        (1, 2, 1),
    ]
    this_week = found.weeks[-1]
    assert (this_week.class_volume_kg, this_week.own_volume_kg) == (1000, 600)
    assert found.class_share == pytest.approx(2 / 3)
    assert found.attendance_streak_weeks == 3
