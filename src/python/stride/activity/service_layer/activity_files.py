"""Use cases of the activity files members upload: an upload becomes an imported activity with
its route (with location consent), its heart rates (as health samples, with heart-rate consent)
and the best efforts it sets; a route is read back as GPX, alone or in the member's export."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from stride.activity.domain.activity_files import (
    MAX_FILE_BYTES,
    KeptTrack,
    Route,
    RouteState,
    Sport,
    distances,
    file_external_id,
    file_format,
    heart_rate_samples,
    keep_points,
    recording_device,
    route_points,
    summarize,
)
from stride.activity.domain.best_efforts import (
    BestEffort,
    EffortImprovement,
    best_efforts,
    effort_improvements,
)
from stride.activity.domain.health import CLOCK_SKEW, MAX_SAMPLES, Device
from stride.activity.domain.privacy import HealthData
from stride.activity.domain.providers import ActivityData, ImportedActivity, Provider
from stride.activity.events.v1 import events_pb2
from stride.activity.service_layer.commands import UploadActivityFile, UploadHealthSamples
from stride.activity.service_layer.event_types import PERSONAL_RECORD_SET
from stride.activity.service_layer.handlers import export_pages
from stride.activity.service_layer.health import HealthPolicy, store_samples
from stride.activity.service_layer.ports import ActivityFiles, UnreadableFile
from stride.activity.service_layer.providers import announce_imported
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FieldViolation, InvalidArgument, NotFound

NewUnitOfWork = Callable[[], ActivityUnitOfWork]
# Health samples store a file's heart rates under this source.
HEART_RATE_SOURCE = "file"
IMPOSSIBLE_HEART_RATE = "activity_file.impossible_heart_rate"


@dataclass(frozen=True)
class UploadedFile:
    activity: ImportedActivity
    created: bool  # False: the same file was uploaded before.
    route_state: RouteState
    kept_points: int
    dropped_points: dict[str, int]  # By reason (a message key).
    stored_heart_rates: int
    dropped_heart_rates: dict[str, int]
    best_efforts: list[BestEffort]  # Those the file set.


async def upload_file(
    new_uow: NewUnitOfWork,
    files: ActivityFiles,
    command: UploadActivityFile,
    health_policy: HealthPolicy,
    clock: Clock = utcnow,
) -> UploadedFile:
    """Reads the file (nothing is stored if it cannot be), then stores in one transaction the
    activity, its route if the member consents to keeping locations, and the best efforts it
    beat (announced as personal records); then its heart rates through the health samples'
    upload, whose rules (consent, possible values, retention) they follow. Uploading the same
    file again stores nothing twice, so a retry after a failure completes the upload."""
    data = command.data
    if not data:
        raise InvalidArgument([FieldViolation("file.data", "activity_file.empty")])
    if len(data) > MAX_FILE_BYTES:
        raise InvalidArgument([FieldViolation("file.data", "activity_file.too_large")])
    found_format = file_format(command.content_type, data)
    if found_format is None:
        raise InvalidArgument([FieldViolation("file.content_type", "activity_file.unknown_format")])
    try:
        # Parsing a mebibyte takes a while: off the event loop, so other calls go on.
        parsed = await asyncio.to_thread(files.read, found_format, data)
    except UnreadableFile:
        raise InvalidArgument([FieldViolation("file.data", "activity_file.unreadable")]) from None
    now = clock()
    track = keep_points(parsed.points, now)
    figures = summarize(parsed, track)
    if figures is None:
        raise InvalidArgument([FieldViolation("file.data", "activity_file.no_activity")])
    if figures.start_time > now + CLOCK_SKEW:
        raise InvalidArgument([FieldViolation("file.data", "activity_file.in_future")])
    member_id = command.member_id
    external_id = file_external_id(member_id, data)
    activity = ImportedActivity(
        member_id,
        Provider.FILE,
        ActivityData(
            external_id=external_id,
            display_name=figures.display_name,
            sport_type=figures.sport.value,
            start_time=figures.start_time,
            elapsed_seconds=figures.elapsed_seconds,
            moving_seconds=figures.moving_seconds,
            distance_meters=figures.distance_meters,
            elevation_gain_meters=figures.elevation_gain_meters,
            average_heart_rate=figures.average_heart_rate,
            max_heart_rate=figures.max_heart_rate,
        ),
        now,
    )
    route = Route(
        member_id,
        activity.activity_id,
        figures.display_name,
        figures.sport.value,
        route_points(track.points),
    )
    efforts = _efforts(member_id, activity.activity_id, figures.sport, track)
    async with new_uow() as uow:
        consent = await uow.privacy.consent(member_id, lock=True)
        created = await uow.imported.save(activity)
        if created:
            announce_imported(uow, activity)
        if not route.points:
            route_state = RouteState.NONE
        elif consent.allows(HealthData.LOCATION):
            await uow.routes.put(Provider.FILE, external_id, route)
            route_state = RouteState.STORED
        else:
            route_state = RouteState.DROPPED_NO_CONSENT
        improved = await _keep_best_efforts(uow, activity, efforts)
        await uow.commit()
    stored_heart_rates, dropped_heart_rates = await _store_heart_rates(
        new_uow, member_id, parsed.device, external_id, track, health_policy, clock
    )
    return UploadedFile(
        activity=activity,
        created=created,
        route_state=route_state,
        kept_points=len(track.points),
        dropped_points=track.dropped,
        stored_heart_rates=stored_heart_rates,
        dropped_heart_rates=dropped_heart_rates,
        best_efforts=[found.effort for found in improved],
    )


def _efforts(
    member_id: uuid.UUID, activity_id: str, sport: Sport, track: KeptTrack
) -> list[BestEffort]:
    """A run's best efforts (rides and walks set none)."""
    along = distances(track.points)
    if sport is not Sport.RUN or along is None:
        return []
    times: list[datetime] = [point.time for point in track.points if point.time is not None]
    return best_efforts(member_id, activity_id, times, along)


async def _keep_best_efforts(
    uow: ActivityUnitOfWork, activity: ImportedActivity, efforts: Sequence[BestEffort]
) -> list[EffortImprovement]:
    """Keeps the efforts that beat the member's bests (under the member's records lock, so two
    uploads at once compare with each other's) and announces them."""
    if not efforts:
        return []
    member_id = activity.member_id
    await uow.records.lock_member(member_id)
    improved = effort_improvements(await uow.best_efforts.of_member(member_id), efforts)
    if not improved:
        return []
    for found in improved:
        await uow.best_efforts.put(found.effort)
    event = events_pb2.PersonalRecordsSet(
        member=f"users/{member_id}",
        imported_activity=activity.resource_name,
        records=[
            events_pb2.PersonalRecordsSet.Record(
                personal_record=found.effort.resource_name,
                kind="best_effort",
                distance_meters=found.effort.distance.meters,
                elapsed_time_seconds=found.effort.elapsed_seconds,
                previous_elapsed_time_seconds=(
                    found.previous.elapsed_seconds if found.previous else 0.0
                ),
            )
            for found in improved
        ],
    )
    event.achieve_time.FromDatetime(max(found.effort.achieve_time for found in improved))
    uow.publish(PERSONAL_RECORD_SET, subject=activity.resource_name, payload=event)
    return improved


async def _store_heart_rates(
    new_uow: NewUnitOfWork,
    member_id: uuid.UUID,
    device: Device,
    external_id: str,
    track: KeptTrack,
    policy: HealthPolicy,
    clock: Clock,
) -> tuple[int, dict[str, int]]:
    """Hands the track's heart rates to the health samples' upload, a batch at a time; how
    many were stored (now or by an earlier upload of the file) and how many dropped, by
    reason."""
    from_device = recording_device(device)
    samples = heart_rate_samples(external_id, track.points)
    dropped: Counter[str] = Counter()
    if track.dropped_heart_rates:
        dropped[IMPOSSIBLE_HEART_RATE] = track.dropped_heart_rates
    stored = 0
    for start in range(0, len(samples), MAX_SAMPLES):
        batch = samples[start : start + MAX_SAMPLES]
        command = UploadHealthSamples(member_id, HEART_RATE_SOURCE, from_device, batch, (), "")
        outcome = await store_samples(new_uow(), command, policy, clock)
        stored += outcome.accepted_count + outcome.duplicate_count
        dropped.update(rejection.reason for rejection in outcome.rejections)
    return stored, dict(dropped)


async def get_route(
    uow: ActivityUnitOfWork, files: ActivityFiles, member_id: uuid.UUID, activity_id: str
) -> bytes:
    """The route of the member's activity as GPX."""
    provider, _, external_id = activity_id.partition("-")
    route = None
    if provider == Provider.FILE.value:
        async with uow:
            route = await uow.routes.get(member_id, Provider.FILE, external_id)
    if route is None:
        raise NotFound("ACTIVITY_ROUTE_NOT_FOUND", "activity_route.not_found")
    return files.write_gpx(route)


async def export_routes(
    new_uow: NewUnitOfWork, files: ActivityFiles, member_id: uuid.UUID, page_size: int
) -> AsyncIterator[tuple[str, bytes]]:
    """Each of the member's routes as (activity name, GPX), latest first."""
    pages = export_pages(
        new_uow,
        lambda uow, offset, limit: uow.routes.of_member(member_id, offset, limit),
        page_size,
    )
    async for page in pages:
        for route in page:
            yield route.activity_name, files.write_gpx(route)


async def list_best_efforts(uow: ActivityUnitOfWork, member_id: uuid.UUID) -> list[BestEffort]:
    """Shortest distance first."""
    async with uow:
        stored = await uow.best_efforts.of_member(member_id)
    return sorted(stored.values(), key=lambda effort: effort.distance.meters)
