"""Uploaded activity files against real Postgres: a file becomes one imported activity however
often it is uploaded, its route is kept only with location consent (and goes when consent is
withdrawn or the member's data is deleted), its heart rates go through the health samples'
upload with heart-rate consent, and a run's best efforts are kept and announced once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import pytest_asyncio
from activity.activity_files import Point, fit_file, gpx_file, straight_run, tcx_file
from activity.support import POLICY, make_months, published
from sqlalchemy import text

from stride.activity.adapters.activity_files import ActivityFileFormats
from stride.activity.domain.activity_files import MAX_FILE_BYTES, FileFormat, RouteState
from stride.activity.domain.best_efforts import EffortDistance
from stride.activity.events.v1.events_pb2 import PersonalRecordsSet, SessionCompleted
from stride.activity.service_layer import activity_files, handlers, providers
from stride.activity.service_layer.commands import UploadActivityFile
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.errors import InvalidArgument, NotFound

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
START = NOW - timedelta(days=1)
FORMATS = ActivityFileFormats()


def clock() -> datetime:
    return NOW


@pytest_asyncio.fixture(scope="module", autouse=True)
async def months_made(new_uow: partial[ActivityUnitOfWork]) -> None:
    await make_months(new_uow, clock)


async def upload(
    new_uow: partial[ActivityUnitOfWork], member: uuid.UUID, data: bytes, content_type: str = ""
) -> activity_files.UploadedFile:
    command = UploadActivityFile(member, content_type, data)
    return await activity_files.upload_file(new_uow, FORMATS, command, POLICY, clock)


async def consent(
    new_uow: partial[ActivityUnitOfWork], member: uuid.UUID, **given: bool
) -> uuid.UUID:
    await handlers.update_consent(new_uow(), member, given, clock)
    return member


async def imported_names(new_uow: partial[ActivityUnitOfWork], member: uuid.UUID) -> list[str]:
    return [a.resource_name for a in await providers.list_imported(new_uow(), member, 0, 10)]


async def heart_rate_rows(new_uow: partial[ActivityUnitOfWork], member: uuid.UUID) -> int:
    async with new_uow() as uow:
        found = await uow.session.execute(
            text("SELECT count(*) FROM health_samples WHERE member_id = :member"),
            {"member": member},
        )
        return int(found.scalar_one())


async def test_a_run_with_consent_keeps_its_route_heart_rates_and_best_efforts_once(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = await consent(new_uow, uuid.uuid4(), heart_rate=True, location=True)
    run = straight_run(5200, 300)
    data = fit_file(START, run)

    first = await upload(new_uow, member, data, "application/vnd.ant.fit")
    again = await upload(new_uow, member, data)

    assert (first.created, again.created) == (True, False)
    assert first.activity.resource_name == again.activity.resource_name
    activity = first.activity.data
    assert (activity.sport_type, activity.start_time) == ("Run", START)
    assert activity.distance_meters == pytest.approx(5200)
    assert activity.elapsed_seconds == run[-1].seconds
    assert activity.average_heart_rate == 150
    assert first.route_state is RouteState.STORED
    assert (first.kept_points, first.dropped_points) == (len(run), {})
    assert first.stored_heart_rates == len(run) == again.stored_heart_rates
    assert await heart_rate_rows(new_uow, member) == len(run)
    assert [e.distance for e in first.best_efforts] == [
        EffortDistance.ONE_KILOMETER,
        EffortDistance.FIVE_KILOMETERS,
    ]
    assert again.best_efforts == []
    listed = await activity_files.list_best_efforts(new_uow(), member)
    assert [(e.distance, round(e.elapsed_seconds)) for e in listed] == [
        (EffortDistance.ONE_KILOMETER, 300),
        (EffortDistance.FIVE_KILOMETERS, 1500),
    ]
    imported = await published(new_uow, "activity.session.completed.v1", SessionCompleted, member)
    assert [p.imported_activity for _, p in imported] == [first.activity.resource_name]
    announced = await published(
        new_uow, "activity.personal_record.set.v1", PersonalRecordsSet, member
    )
    (only,) = [payload for _, payload in announced]
    assert only.imported_activity == first.activity.resource_name
    assert [(r.kind, r.distance_meters) for r in only.records] == [
        ("best_effort", 1000.0),
        ("best_effort", 5000.0),
    ]
    gpx = await activity_files.get_route(new_uow(), FORMATS, member, first.activity.activity_id)
    route = FORMATS.read(FileFormat.GPX, gpx)
    assert len(route.points) == len(run)
    assert route.points[-1].latitude == pytest.approx(run[-1].latitude, abs=1e-6)


async def test_a_faster_run_beats_a_best_effort_and_a_slower_one_does_not(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = uuid.uuid4()
    await upload(new_uow, member, tcx_file(START, straight_run(1100, 300)))
    slower = await upload(
        new_uow, member, gpx_file(START + timedelta(hours=2), straight_run(1100, 330))
    )
    faster = await upload(
        new_uow, member, fit_file(START + timedelta(hours=4), straight_run(1100, 270))
    )

    assert slower.best_efforts == []
    (beaten,) = faster.best_efforts
    assert beaten.elapsed_seconds == pytest.approx(270, abs=0.5)
    announced = await published(
        new_uow, "activity.personal_record.set.v1", PersonalRecordsSet, member
    )
    times = [
        (round(r.elapsed_time_seconds), round(r.previous_elapsed_time_seconds))
        for _, payload in announced
        for r in payload.records
    ]
    assert times == [(300, 0), (270, 300)]


async def test_without_consent_the_activity_stays_and_route_and_heart_rates_go(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = uuid.uuid4()
    run = straight_run(1500, 300)

    uploaded = await upload(new_uow, member, gpx_file(START, run), "application/gpx+xml")

    assert uploaded.created
    assert uploaded.route_state is RouteState.DROPPED_NO_CONSENT
    assert uploaded.stored_heart_rates == 0
    assert uploaded.dropped_heart_rates == {"health_sample.no_consent": len(run)}
    assert await heart_rate_rows(new_uow, member) == 0
    with pytest.raises(NotFound):
        await activity_files.get_route(new_uow(), FORMATS, member, uploaded.activity.activity_id)
    assert await imported_names(new_uow, member) == [uploaded.activity.resource_name]


async def test_withdrawing_location_consent_deletes_routes_and_deletion_takes_the_rest(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = await consent(new_uow, uuid.uuid4(), location=True)
    uploaded = await upload(new_uow, member, fit_file(START, straight_run(1200, 300)))
    activity_id = uploaded.activity.activity_id
    assert uploaded.route_state is RouteState.STORED

    await consent(new_uow, member, location=False)

    with pytest.raises(NotFound):
        await activity_files.get_route(new_uow(), FORMATS, member, activity_id)
    await consent(new_uow, member, location=True)
    await upload(new_uow, member, fit_file(START + timedelta(hours=1), straight_run(1200, 300)))
    exported = [name async for name, _ in activity_files.export_routes(new_uow, FORMATS, member, 1)]
    assert len(exported) == 1
    token, _, _ = await handlers.start_deletion(new_uow(), member, clock)
    await handlers.delete_member_data(new_uow, {}, member, token, clock)
    assert [
        name async for name, _ in activity_files.export_routes(new_uow, FORMATS, member, 1)
    ] == []
    assert await activity_files.list_best_efforts(new_uow(), member) == []


async def test_impossible_points_are_dropped_and_counted_and_the_rest_kept(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = await consent(new_uow, uuid.uuid4(), heart_rate=True, location=True)
    run = straight_run(1200, 300)
    bad = [
        Point(run[5].seconds, 24.75, 46.7, distance=run[5].distance),  # Repeats a time.
        # FIT holds no negative distance: it wraps to 42,949 km.
        Point(run[-1].seconds + 10, run[-1].latitude, 46.7, distance=-3),
        Point(
            run[-1].seconds + 20,
            run[-1].latitude,
            46.7,
            distance=(run[-1].distance or 0) + 30,
            heart_rate=0,  # A strap that lost contact (FIT holds no 400: one byte).
        ),
    ]
    points = [*run[:6], bad[0], *run[6:], bad[1], bad[2]]

    uploaded = await upload(new_uow, member, fit_file(START, points))

    assert uploaded.kept_points == len(run) + 1
    assert uploaded.dropped_points == {
        "activity_file.point_repeated": 1,
        "activity_file.impossible_distance": 1,
    }
    assert uploaded.dropped_heart_rates == {"activity_file.impossible_heart_rate": 1}
    assert uploaded.stored_heart_rates == len(run)


GPX_TYPE, FIT_TYPE = "application/gpx+xml", "application/vnd.ant.fit"
EMPTY_GPX = b'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"></gpx>'


@pytest.mark.parametrize(
    ("content_type", "data", "field", "reason"),
    [
        (GPX_TYPE, b"", "file.data", "activity_file.empty"),
        ("application/pdf", b"%PDF-1.7", "file.content_type", "activity_file.unknown_format"),
        ("", b"just some text", "file.content_type", "activity_file.unknown_format"),
        (FIT_TYPE, b"\x0e\x10garbage" * 4, "file.data", "activity_file.unreadable"),
        (GPX_TYPE, b"<gpx><trk>", "file.data", "activity_file.unreadable"),
        (GPX_TYPE, b"<gpx" + b" " * MAX_FILE_BYTES, "file.data", "activity_file.too_large"),
        (GPX_TYPE, EMPTY_GPX, "file.data", "activity_file.no_activity"),
    ],
)
async def test_a_bad_file_is_refused_with_its_field_and_nothing_is_stored(
    new_uow: partial[ActivityUnitOfWork], content_type: str, data: bytes, field: str, reason: str
) -> None:
    member = uuid.uuid4()

    with pytest.raises(InvalidArgument) as refused:
        await upload(new_uow, member, data, content_type)

    assert [(v.field, v.message_key) for v in refused.value.violations] == [(field, reason)]
    assert await imported_names(new_uow, member) == []


async def test_a_file_in_the_future_is_refused(new_uow: partial[ActivityUnitOfWork]) -> None:
    member = uuid.uuid4()
    with pytest.raises(InvalidArgument):
        await upload(new_uow, member, fit_file(NOW + timedelta(hours=1), straight_run(500, 300)))
    assert await imported_names(new_uow, member) == []
