"""Activity files read with their formats' libraries — FIT with Garmin's own SDK
(`garmin-fit-sdk`), GPX with `gpxpy`, TCX with `tcxreader` — and routes written as GPX 1.1.

Reading is CPU work on up to a mebibyte: the use case runs it off the event loop. XML is parsed
by the standard library's expat, which expands no external entities and refuses the
exponential ones (billion laughs) itself."""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element

import gpxpy
import gpxpy.gpx
from garmin_fit_sdk import Decoder, Stream
from tcxreader.tcxreader import TCXReader

from stride.activity.domain.activity_files import (
    ActivityFile,
    FileFormat,
    FileSummary,
    Route,
    TrackPoint,
)
from stride.activity.domain.health import Device, DeviceType
from stride.activity.service_layer.ports import UnreadableFile

# FIT positions are semicircles: 2^31 of them make 180 degrees.
_DEGREES_PER_SEMICIRCLE = 180 / 2**31


class ActivityFileFormats:
    """The ActivityFiles port: FIT, GPX and TCX read, GPX written."""

    def read(self, file_format: FileFormat, data: bytes) -> ActivityFile:
        try:
            if file_format is FileFormat.FIT:
                return _read_fit(data)
            if file_format is FileFormat.GPX:
                return _read_gpx(data)
            return _read_tcx(data)
        except UnreadableFile:
            raise
        # The libraries raise what they meet in a damaged file (struct, index, value, XML and
        # their own errors): any of them means the same to the member.
        except Exception as error:
            raise UnreadableFile(str(error)) from None

    def write_gpx(self, route: Route) -> bytes:
        return _route_gpx(route)


def _read_fit(data: bytes) -> ActivityFile:
    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    if not decoder.is_fit() or not decoder.check_integrity():
        raise UnreadableFile("not a FIT file, or its checksum does not match")
    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    messages, errors = decoder.read(convert_datetimes_to_dates=True)
    if errors:
        raise UnreadableFile(str(errors[0]))
    session = _first(messages.get("session_mesgs"))
    file_id = _first(messages.get("file_id_mesgs"))
    points = tuple(
        TrackPoint(
            time=_utc(record.get("timestamp")),
            latitude=_semicircles(record.get("position_lat")),
            longitude=_semicircles(record.get("position_long")),
            elevation_meters=_number(record.get("enhanced_altitude", record.get("altitude"))),
            distance_meters=_number(record.get("distance")),
            heart_rate=_number(record.get("heart_rate")),
        )
        for record in messages.get("record_mesgs", [])
    )
    summary = FileSummary(
        start_time=_utc(session.get("start_time")),
        elapsed_seconds=_number(session.get("total_elapsed_time")),
        moving_seconds=_number(session.get("total_timer_time")),
        distance_meters=_number(session.get("total_distance")),
        elevation_gain_meters=_number(session.get("total_ascent")),
        average_heart_rate=_number(session.get("avg_heart_rate")),
        max_heart_rate=_number(session.get("max_heart_rate")),
    )
    device = Device(
        DeviceType.WATCH,
        manufacturer=_text(file_id.get("manufacturer")),
        model=_text(file_id.get("garmin_product", file_id.get("product_name", ""))),
    )
    return ActivityFile(FileFormat.FIT, _text(session.get("sport")), "", device, summary, points)


def _read_gpx(data: bytes) -> ActivityFile:
    parsed = gpxpy.parse(data.decode("utf-8-sig"))
    points: list[TrackPoint] = []
    sport = name = ""
    for track in parsed.tracks:
        sport = sport or (track.type or "")
        name = name or (track.name or "")
        for segment in track.segments:
            points.extend(
                TrackPoint(
                    time=_utc(point.time),
                    latitude=point.latitude,
                    longitude=point.longitude,
                    elevation_meters=_number(point.elevation),
                    heart_rate=_extension_heart_rate(point.extensions),
                )
                for point in segment.points
            )
    device = Device(DeviceType.OTHER, name=(parsed.creator or ""))
    return ActivityFile(
        FileFormat.GPX, sport, name or (parsed.name or ""), device, FileSummary(), tuple(points)
    )


def _extension_heart_rate(extensions: Iterable[Element]) -> float | None:
    """Garmin's TrackPointExtension (`<gpxtpx:hr>`), the heart rate GPX files carry."""
    for extension in extensions:
        for element in extension.iter():
            if element.tag.rsplit("}", 1)[-1] == "hr" and element.text:
                return _number(float(element.text))
    return None


def _read_tcx(data: bytes) -> ActivityFile:
    exercise = TCXReader().read(io.BytesIO(data), only_gps=False)
    points = tuple(
        TrackPoint(
            time=_utc(point.time),
            latitude=_number(point.latitude),
            longitude=_number(point.longitude),
            elevation_meters=_number(point.elevation),
            distance_meters=_number(point.distance),
            heart_rate=_number(point.hr_value),
        )
        for point in exercise.trackpoints or ()
    )
    summary = FileSummary(
        start_time=_utc(exercise.start_time) if points else None,
        distance_meters=_number(exercise.distance) if points else None,
        elevation_gain_meters=_number(exercise.ascent),
    )
    author = exercise.author.name if exercise.author and exercise.author.name else ""
    device = Device(DeviceType.WATCH if author else DeviceType.OTHER, name=author)
    return ActivityFile(FileFormat.TCX, exercise.activity_type or "", "", device, summary, points)


def _route_gpx(route: Route) -> bytes:
    """The route as a GPX 1.1 track, one point per kept point."""
    document = gpxpy.gpx.GPX()
    document.creator = "Stride"
    track = gpxpy.gpx.GPXTrack(name=route.display_name)
    track.type = route.sport  # type: ignore[assignment] # gpxpy's stub leaves it None-typed.
    segment = gpxpy.gpx.GPXTrackSegment()
    segment.points.extend(
        gpxpy.gpx.GPXTrackPoint(
            point.latitude, point.longitude, elevation=point.elevation_meters, time=point.time
        )
        for point in route.points
    )
    track.segments.append(segment)
    document.tracks.append(track)
    return document.to_xml(version="1.1").encode()


def _first(messages: Sequence[Mapping[str, Any]] | None) -> Mapping[str, Any]:
    return messages[0] if messages else {}


def _utc(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _semicircles(value: object) -> float | None:
    number = _number(value)
    return None if number is None else number * _DEGREES_PER_SEMICIRCLE


def _text(value: object) -> str:
    return str(value)[:100] if value is not None else ""
