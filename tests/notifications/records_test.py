"""Personal records as members read them: an uploaded run's best efforts name the longest
distance it beat and its time, in the member's language, once however often delivered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial

import pytest

from notifications.support import lives_in
from stride.activity.events.v1.events_pb2 import PersonalRecordsSet
from stride.notifications.service_layer import events, members
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.auth import Principal, authenticated_as
from stride.platform.events.envelope import make_envelope

NOW = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)


def best_efforts(member: uuid.UUID, *times: tuple[float, float]) -> PersonalRecordsSet:
    activity = f"users/{member}/importedActivities/file-{'a' * 64}"
    return PersonalRecordsSet(
        member=f"users/{member}",
        imported_activity=activity,
        records=[
            PersonalRecordsSet.Record(
                personal_record=f"users/{member}/bestEfforts/{meters}",
                kind="best_effort",
                distance_meters=meters,
                elapsed_time_seconds=seconds,
            )
            for meters, seconds in times
        ],
    )


@pytest.mark.parametrize(
    ("language", "times", "title", "body"),
    [
        (
            "en",
            ((1000, 241.4), (5000, 1385.6)),
            "New best effort!",
            "Your fastest 5 km yet: 23:06.",
        ),
        (
            "ar",
            ((21097.5, 5405.0),),
            "أفضل أداء جديد!",
            "أسرع نصف الماراثون لك حتى الآن: 1:30:05.",
        ),
    ],
)
async def test_a_best_effort_is_told_by_its_longest_distance_and_time(
    new_uow: partial[NotificationsUnitOfWork],
    language: str,
    times: tuple[tuple[float, float], ...],
    title: str,
    body: str,
) -> None:
    member = uuid.uuid4()
    await lives_in(new_uow, member, "Asia/Riyadh", language=language)
    records = best_efforts(member, *times)
    event = make_envelope(
        source="activity",
        event_type="activity.personal_record.set.v1",
        subject=records.imported_activity,
        payload=records,
    )

    for _ in range(2):  # Delivered twice.
        async with new_uow() as uow:
            await events.on_personal_records_set(event, uow, clock=lambda: NOW)
            await uow.commit()

    with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
        (told,) = await members.inbox(new_uow(), member, 0, 10)
    assert (told.kind, told.title, told.body) == ("personal_record.best_effort", title, body)
