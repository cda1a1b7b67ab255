"""Activity files as devices write them, for tests: FIT encoded with Garmin's SDK, GPX 1.1 with
Garmin's TrackPointExtension heart rates, TCX 2 — along a track given point by point."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from garmin_fit_sdk import Encoder, Profile

_MESSAGES = Profile["mesg_num"]
_SEMICIRCLES_PER_DEGREE = 2**31 / 180


@dataclass(frozen=True)
class Point:
    seconds: float  # From the start.
    latitude: float | None
    longitude: float | None
    elevation: float | None = None
    distance: float | None = None  # Meters from the start, as a device measures it.
    heart_rate: int | None = None


def straight_run(
    meters: float, seconds_per_km: float, every_seconds: float = 10, heart_rate: int = 150
) -> list[Point]:
    """A run due north from Riyadh at an even pace, a point every `every_seconds`."""
    speed = 1000 / seconds_per_km
    points, at = [], 0.0
    while True:
        covered = min(meters, at * speed)
        points.append(Point(at, 24.7 + covered / 111_195, 46.7, 610.0, covered, heart_rate))
        if covered >= meters:
            return points
        at += every_seconds


def fit_file(
    start: datetime,
    points: Sequence[Point],
    sport: str = "running",
    session: dict[str, object] | None = None,
) -> bytes:
    encoder = Encoder()
    encoder.write_mesg(
        {
            "mesg_num": _MESSAGES["FILE_ID"],
            "type": "activity",
            "manufacturer": "garmin",
            "product": 3415,
            "serial_number": 3_900_000_001,
            "time_created": start,
        }
    )
    for point in points:
        record: dict[str, object] = {
            "mesg_num": _MESSAGES["RECORD"],
            "timestamp": start + timedelta(seconds=point.seconds),
        }
        if point.latitude is not None and point.longitude is not None:
            record["position_lat"] = round(point.latitude * _SEMICIRCLES_PER_DEGREE)
            record["position_long"] = round(point.longitude * _SEMICIRCLES_PER_DEGREE)
        if point.elevation is not None:
            record["enhanced_altitude"] = point.elevation
        if point.distance is not None:
            record["distance"] = point.distance
        if point.heart_rate is not None:
            record["heart_rate"] = point.heart_rate
        encoder.write_mesg(record)
    last = points[-1].seconds if points else 0.0
    encoder.write_mesg(
        {
            "mesg_num": _MESSAGES["SESSION"],
            "timestamp": start + timedelta(seconds=last),
            "start_time": start,
            "sport": sport,
            **(session or {}),
        }
    )
    return encoder.close()


def gpx_file(
    start: datetime, points: Sequence[Point], name: str = "Morning Run", kind: str = "running"
) -> bytes:
    trackpoints = []
    for point in points:
        at = (start + timedelta(seconds=point.seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        elevation = f"<ele>{point.elevation}</ele>" if point.elevation is not None else ""
        heart = (
            "<extensions><gpxtpx:TrackPointExtension>"
            f"<gpxtpx:hr>{point.heart_rate}</gpxtpx:hr>"
            "</gpxtpx:TrackPointExtension></extensions>"
            if point.heart_rate is not None
            else ""
        )
        trackpoints.append(
            f'<trkpt lat="{point.latitude}" lon="{point.longitude}">'
            f"{elevation}<time>{at}</time>{heart}</trkpt>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="Garmin Connect" xmlns="http://www.topografix.com/GPX/1/1"'
        ' xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        f"<trk><name>{escape(name)}</name><type>{escape(kind)}</type><trkseg>"
        + "".join(trackpoints)
        + "</trkseg></trk></gpx>"
    ).encode()


def tcx_file(start: datetime, points: Sequence[Point], sport: str = "Running") -> bytes:
    trackpoints = []
    for point in points:
        at = (start + timedelta(seconds=point.seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        position = (
            f"<Position><LatitudeDegrees>{point.latitude}</LatitudeDegrees>"
            f"<LongitudeDegrees>{point.longitude}</LongitudeDegrees></Position>"
            if point.latitude is not None
            else ""
        )
        parts = [f"<Time>{at}</Time>", position]
        if point.elevation is not None:
            parts.append(f"<AltitudeMeters>{point.elevation}</AltitudeMeters>")
        if point.distance is not None:
            parts.append(f"<DistanceMeters>{point.distance}</DistanceMeters>")
        if point.heart_rate is not None:
            parts.append(f"<HeartRateBpm><Value>{point.heart_rate}</Value></HeartRateBpm>")
        trackpoints.append(f"<Trackpoint>{''.join(parts)}</Trackpoint>")
    began = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    total = points[-1].distance if points and points[-1].distance is not None else 0.0
    seconds = points[-1].seconds if points else 0.0
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
        f'<Activities><Activity Sport="{sport}"><Id>{began}</Id>'
        f'<Lap StartTime="{began}"><TotalTimeSeconds>{seconds}</TotalTimeSeconds>'
        f"<DistanceMeters>{total}</DistanceMeters><Track>" + "".join(trackpoints) + "</Track></Lap>"
        "<Creator><Name>Forerunner 965</Name></Creator></Activity></Activities>"
        "<Author><Name>Garmin Connect</Name></Author>"
        "</TrainingCenterDatabase>"
    ).encode()
