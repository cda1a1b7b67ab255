"""Activity files a member uploads (FIT from a watch or bike computer, GPX, TCX): what a file
says once read, the points kept of its track, the activity made of it, and its route.

A file's points are judged one by one, like health samples: a point out of order, repeated, in
the future, at an impossible place or with an impossible heart rate or distance is dropped and
counted by reason; the rest make the activity. The same file uploaded twice is one activity:
its id is a digest of the member and the file's bytes."""

from __future__ import annotations

import hashlib
import math
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from stride.activity.domain.health import CLOCK_SKEW, Device, DeviceType, GivenSample, HealthKind

# The edge refuses bodies over 1 MiB (EdgeSettings.max_request_bytes) and the services'
# request limits bytes fields to the same: a file is at most this long wherever it comes from.
MAX_FILE_BYTES = 1024 * 1024
# Heart rates a person can have, as the health samples' (domain.health) bounds.
HEART_RATE_RANGE = (25.0, 250.0)
# Faster than this between two points is a GPS jump, not a person (m/s; a fast descent on a
# bike is under 30).
MAX_SPEED = 50.0
# Slower than this between two points is standing still: not moving time.
MOVING_SPEED = 0.5
# The longest activity kept (multi-day ultras fit): points later than this after the first are
# a device's clock gone wrong.
MAX_ACTIVITY_LENGTH = timedelta(days=7)
# A gap longer than this between points is a pause (the device stopped recording).
MAX_MOVING_GAP = timedelta(seconds=30)
EARTH_RADIUS_METERS = 6_371_008.8
# An activity's name as a file gives it is cut to this many characters.
MAX_NAME_LENGTH = 100


class FileFormat(StrEnum):
    FIT = "fit"
    GPX = "gpx"
    TCX = "tcx"


# Media types as clients send them (IANA's for FIT and GPX, Garmin's for TCX), and the common
# aliases.
CONTENT_TYPES: dict[str, FileFormat] = {
    "application/vnd.ant.fit": FileFormat.FIT,
    "application/fit": FileFormat.FIT,
    "application/gpx+xml": FileFormat.GPX,
    "application/vnd.garmin.tcx+xml": FileFormat.TCX,
    "application/tcx+xml": FileFormat.TCX,
}
# Types that say nothing of the format: the bytes tell.
_UNTYPED = frozenset({"", "application/octet-stream", "application/xml", "text/xml"})


def file_format(content_type: str, data: bytes) -> FileFormat | None:
    """The file's format from its media type, or from its first bytes when the type is
    generic; None when neither says."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in _UNTYPED:
        return CONTENT_TYPES.get(media_type)
    # A FIT file's header carries ".FIT" at bytes 8-11 (Garmin's FIT protocol, "File Header").
    if data[8:12] == b".FIT":
        return FileFormat.FIT
    head = data[:4096]
    if b"<gpx" in head:
        return FileFormat.GPX
    if b"<TrainingCenterDatabase" in head:
        return FileFormat.TCX
    return None


@dataclass(frozen=True)
class TrackPoint:
    """One point of a file's track, as recorded: any part may be missing."""

    time: datetime | None
    latitude: float | None = None
    longitude: float | None = None
    elevation_meters: float | None = None
    distance_meters: float | None = None  # From the start, as the device measured it.
    heart_rate: float | None = None

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True)
class FileSummary:
    """The totals a file states (a FIT session, a TCX lap); None where it states none."""

    start_time: datetime | None = None
    elapsed_seconds: float | None = None
    moving_seconds: float | None = None
    distance_meters: float | None = None
    elevation_gain_meters: float | None = None
    average_heart_rate: float | None = None
    max_heart_rate: float | None = None


@dataclass(frozen=True)
class ActivityFile:
    """What a file says, as read: its sport as the format names it, its name, the device that
    recorded it and its points in the file's order."""

    format: FileFormat
    sport: str
    display_name: str
    device: Device
    summary: FileSummary
    points: tuple[TrackPoint, ...]


class Sport(StrEnum):
    """Sports as imported activities name them (Strava's `sport_type` spelling)."""

    RUN = "Run"
    RIDE = "Ride"
    WALK = "Walk"
    HIKE = "Hike"
    SWIM = "Swim"
    WORKOUT = "Workout"


# Words in the formats' sport names (FIT `running`, `cycling`; TCX `Running`, `Biking`; GPX
# free text such as Strava's `running`) and the sport they mean.
_SPORT_WORDS = (
    ("run", Sport.RUN),
    ("cycl", Sport.RIDE),
    ("bik", Sport.RIDE),
    ("ride", Sport.RIDE),
    ("walk", Sport.WALK),
    ("hik", Sport.HIKE),
    ("swim", Sport.SWIM),
)


def sport_of(name: str) -> Sport:
    lowered = name.lower()
    for word, sport in _SPORT_WORDS:
        if word in lowered:
            return sport
    return Sport.WORKOUT


class RouteState(StrEnum):
    STORED = "stored"
    DROPPED_NO_CONSENT = "dropped_no_consent"  # Located, without consent to keep locations.
    NONE = "none"  # The file has no located points.


@dataclass(frozen=True)
class KeptTrack:
    """The points kept of a file's track, in time order, and how many were dropped, by
    reason (a message key)."""

    points: tuple[TrackPoint, ...]
    dropped: dict[str, int]
    # Heart rates dropped from points otherwise kept.
    dropped_heart_rates: int


def keep_points(points: Sequence[TrackPoint], now: datetime) -> KeptTrack:
    """Drops the points that cannot be: without a time, in the future, before or at the time
    of the point before them, at an impossible place, with a negative or shrinking distance,
    or reached (by position or distance) faster than anyone moves, or later than the longest
    activity after the first point. An impossible heart rate drops only the heart rate."""
    kept: list[TrackPoint] = []
    dropped: Counter[str] = Counter()
    dropped_heart_rates = 0
    for point in points:
        reason = _fault(point, kept[-1] if kept else None, now)
        if reason is None and kept and _too_late(point, kept[0]):
            reason = "activity_file.point_too_late"
        if reason is not None:
            dropped[reason] += 1
            continue
        if point.heart_rate is not None and not (
            HEART_RATE_RANGE[0] <= point.heart_rate <= HEART_RATE_RANGE[1]
        ):
            dropped_heart_rates += 1
            kept.append(replace(point, heart_rate=None))
        else:
            kept.append(point)
    return KeptTrack(tuple(kept), dict(dropped), dropped_heart_rates)


def _fault(  # noqa: PLR0911 - one return per reason, in the order they are checked.
    point: TrackPoint, previous: TrackPoint | None, now: datetime
) -> str | None:
    if point.time is None:
        return "activity_file.point_without_time"
    if point.time > now + CLOCK_SKEW:
        return "activity_file.point_in_future"
    if not _possible_position(point.latitude, point.longitude):
        return "activity_file.impossible_position"
    distance = point.distance_meters
    if distance is not None and (not math.isfinite(distance) or distance < 0):
        return "activity_file.impossible_distance"
    if previous is None:
        return None
    assert previous.time is not None  # noqa: S101 - kept points have times.
    if point.time < previous.time:
        return "activity_file.point_out_of_order"
    if point.time == previous.time:
        return "activity_file.point_repeated"
    seconds = (point.time - previous.time).total_seconds()
    # A FIT file cannot hold a negative distance: a device's glitch wraps to a huge one.
    if (
        distance is not None
        and previous.distance_meters is not None
        and not (0 <= distance - previous.distance_meters <= MAX_SPEED * seconds)
    ):
        return "activity_file.impossible_distance"
    if point.located and previous.located and meters_between(previous, point) > MAX_SPEED * seconds:
        return "activity_file.impossible_speed"
    return None


def _too_late(point: TrackPoint, first: TrackPoint) -> bool:
    return (
        point.time is not None
        and first.time is not None
        and point.time - first.time > MAX_ACTIVITY_LENGTH
    )


def _possible_position(latitude: float | None, longitude: float | None) -> bool:
    if latitude is None or longitude is None:
        return latitude is None and longitude is None  # Neither, or both.
    return -90 <= latitude <= 90 and -180 <= longitude <= 180


def meters_between(a: TrackPoint, b: TrackPoint) -> float:
    """The great-circle (haversine) distance between two located points."""
    lat1, lon1 = math.radians(a.latitude or 0.0), math.radians(a.longitude or 0.0)
    lat2, lon2 = math.radians(b.latitude or 0.0), math.radians(b.longitude or 0.0)
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_METERS * math.asin(math.sqrt(min(1.0, h)))


def distances(points: Sequence[TrackPoint]) -> list[float] | None:
    """Each point's distance from the start: as the device measured it when every point has
    one, else along the points' positions when every point has one; None when neither."""
    if points and all(point.distance_meters is not None for point in points):
        first = points[0].distance_meters or 0.0
        return [(point.distance_meters or 0.0) - first for point in points]
    if points and all(point.located for point in points):
        total, along = 0.0, [0.0]
        for previous, point in pairwise(points):
            total += meters_between(previous, point)
            along.append(total)
        return along
    return None


@dataclass(frozen=True)
class FileActivity:
    """The activity made of a file: its figures, from the file's totals where it states them
    and from the kept points otherwise."""

    sport: Sport
    display_name: str
    start_time: datetime
    elapsed_seconds: int
    moving_seconds: int
    distance_meters: float
    elevation_gain_meters: float
    average_heart_rate: float | None
    max_heart_rate: float | None


def summarize(file: ActivityFile, track: KeptTrack) -> FileActivity | None:
    """The activity, or None when the file has neither a start nor a single usable point."""
    points = track.points
    stated = file.summary
    start = stated.start_time or (points[0].time if points else None)
    if start is None:
        return None
    along = distances(points)
    times = [point.time for point in points if point.time is not None]
    elapsed = (times[-1] - times[0]).total_seconds() if times else 0.0
    rates = [point.heart_rate for point in points if point.heart_rate is not None]
    sport = sport_of(file.sport)
    return FileActivity(
        sport=sport,
        display_name=(file.display_name or f"{sport.value} ({file.format.value.upper()})")[
            :MAX_NAME_LENGTH
        ],
        start_time=start,
        elapsed_seconds=round(_stated(stated.elapsed_seconds, elapsed)),
        moving_seconds=round(_stated(stated.moving_seconds, _moving_seconds(points, along))),
        distance_meters=_stated(stated.distance_meters, along[-1] if along else 0.0),
        elevation_gain_meters=_stated(stated.elevation_gain_meters, _elevation_gain(points)),
        average_heart_rate=_stated_or_none(
            stated.average_heart_rate, sum(rates) / len(rates) if rates else None
        ),
        max_heart_rate=_stated_or_none(stated.max_heart_rate, max(rates) if rates else None),
    )


def _stated(value: float | None, computed: float) -> float:
    return value if value is not None and math.isfinite(value) and value >= 0 else computed


def _stated_or_none(value: float | None, computed: float | None) -> float | None:
    if value is not None and HEART_RATE_RANGE[0] <= value <= HEART_RATE_RANGE[1]:
        return value
    return computed


def _moving_seconds(points: Sequence[TrackPoint], along: list[float] | None) -> float:
    if along is None:
        return 0.0
    moving = 0.0
    for index in range(1, len(points)):
        start, end = points[index - 1].time, points[index].time
        assert start is not None  # noqa: S101 - kept points have times.
        assert end is not None  # noqa: S101
        gap = end - start
        seconds = gap.total_seconds()
        if gap <= MAX_MOVING_GAP and along[index] - along[index - 1] >= MOVING_SPEED * seconds:
            moving += seconds
    return moving


def _elevation_gain(points: Sequence[TrackPoint]) -> float:
    heights = [point.elevation_meters for point in points if point.elevation_meters is not None]
    return sum(max(0.0, b - a) for a, b in pairwise(heights))


def file_external_id(member_id: uuid.UUID, data: bytes) -> str:
    """The same bytes from the same member are the same activity; another member's upload of
    the file is theirs."""
    digest = hashlib.sha256(member_id.bytes)
    digest.update(data)
    return digest.hexdigest()


@dataclass(frozen=True)
class RoutePoint:
    time: datetime
    latitude: float
    longitude: float
    elevation_meters: float | None


@dataclass(frozen=True)
class Route:
    """Where an activity went: health data (location), kept only with the member's consent."""

    member_id: uuid.UUID
    activity_id: str  # The imported activity's id (`file-{digest}`).
    display_name: str
    sport: str
    points: tuple[RoutePoint, ...]

    @property
    def activity_name(self) -> str:
        return f"users/{self.member_id}/importedActivities/{self.activity_id}"


def route_points(points: Sequence[TrackPoint]) -> tuple[RoutePoint, ...]:
    return tuple(
        RoutePoint(point.time, point.latitude, point.longitude, point.elevation_meters)
        for point in points
        if point.time is not None and point.latitude is not None and point.longitude is not None
    )


def heart_rate_samples(external_id: str, points: Sequence[TrackPoint]) -> tuple[GivenSample, ...]:
    """The track's heart rates as health samples, each an instant reading with an id of its
    own (the file's and the point's time), so uploading the file again stores none twice."""
    prefix = external_id[:40]
    return tuple(
        GivenSample(
            id=f"{prefix}:{int(point.time.timestamp())}",
            kind=HealthKind.HEART_RATE,
            value=point.heart_rate,
            unit="bpm",
            start_time=point.time,
            end_time=point.time,
        )
        for point in points
        if point.time is not None and point.heart_rate is not None
    )


def recording_device(device: Device) -> Device:
    """The file's device as health samples record it: a watch when the file names one (FIT and
    TCX files come from watches and bike computers), else of a kind unknown."""
    named = bool(device.manufacturer or device.model or device.name)
    return Device(
        DeviceType.WATCH if named else DeviceType.OTHER,
        device.manufacturer[:100],
        device.model[:100],
        device.name[:100],
    )
