"""Reading activity files with their formats' libraries: FIT built with Garmin's SDK encoder,
GPX and TCX written as devices write them; damaged files are refused as unreadable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from activity.activity_files import Point, fit_file, gpx_file, straight_run, tcx_file

from stride.activity.adapters.activity_files import ActivityFileFormats
from stride.activity.domain.activity_files import (
    FileFormat,
    Route,
    RoutePoint,
    file_format,
)
from stride.activity.domain.health import DeviceType
from stride.activity.service_layer.ports import UnreadableFile

START = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
FORMATS = ActivityFileFormats()
RUN = straight_run(2000, 300)


def test_a_fit_file_reads_its_records_session_and_device() -> None:
    data = fit_file(
        START,
        RUN,
        session={"total_elapsed_time": 610.0, "total_timer_time": 600.0, "avg_heart_rate": 151},
    )

    read = FORMATS.read(FileFormat.FIT, data)

    assert read.sport == "running"
    assert read.device.type is DeviceType.WATCH
    assert read.device.manufacturer == "garmin"
    assert read.summary.start_time == START
    assert read.summary.elapsed_seconds == pytest.approx(610.0)
    assert read.summary.moving_seconds == pytest.approx(600.0)
    assert read.summary.average_heart_rate == 151
    assert len(read.points) == len(RUN)
    second = read.points[1]
    assert second.time == START + timedelta(seconds=10)
    assert second.latitude == pytest.approx(RUN[1].latitude, abs=1e-6)
    assert second.longitude == pytest.approx(46.7, abs=1e-6)
    assert second.distance_meters == pytest.approx(RUN[1].distance, abs=0.01)
    assert second.heart_rate == 150


def test_a_gpx_file_reads_its_track_and_heart_rate_extension() -> None:
    read = FORMATS.read(FileFormat.GPX, gpx_file(START, RUN, name="Wadi Hanifah loop"))

    assert (read.sport, read.display_name) == ("running", "Wadi Hanifah loop")
    assert len(read.points) == len(RUN)
    last = read.points[-1]
    assert last.time == START + timedelta(seconds=RUN[-1].seconds)
    assert (last.elevation_meters, last.heart_rate) == (610.0, 150)
    assert last.distance_meters is None  # GPX has positions, not a device's distance.


def test_a_tcx_file_reads_its_trackpoints() -> None:
    read = FORMATS.read(FileFormat.TCX, tcx_file(START, RUN, sport="Biking"))

    assert read.sport == "Biking"
    assert read.summary.distance_meters == pytest.approx(2000.0)
    assert [p.distance_meters for p in read.points] == [p.distance for p in RUN]
    assert read.points[0].heart_rate == 150


@pytest.mark.parametrize(
    ("file_format_", "data"),
    [
        (FileFormat.FIT, fit_file(START, RUN)[:-40]),  # Cut short: the checksum fails.
        (FileFormat.FIT, b"\x0e\x10" + b"\x00" * 30),
        (FileFormat.GPX, b"<gpx><trk><trkseg><trkpt lat='x' lon='1'/></trkseg></trk></gpx>"),
        (FileFormat.GPX, b"\x00\x01 not xml"),
        (FileFormat.TCX, b"<TrainingCenterDatabase><Activities>"),
    ],
)
def test_a_damaged_file_is_unreadable(file_format_: FileFormat, data: bytes) -> None:
    with pytest.raises(UnreadableFile):
        FORMATS.read(file_format_, data)


def test_the_format_comes_from_the_media_type_or_the_first_bytes() -> None:
    fit, gpx, tcx = fit_file(START, RUN), gpx_file(START, RUN), tcx_file(START, RUN)

    assert file_format("application/vnd.ant.fit", fit) is FileFormat.FIT
    assert file_format("application/gpx+xml; charset=utf-8", gpx) is FileFormat.GPX
    assert file_format("application/vnd.garmin.tcx+xml", tcx) is FileFormat.TCX
    assert file_format("application/octet-stream", fit) is FileFormat.FIT
    assert file_format("", gpx) is FileFormat.GPX
    assert file_format("text/xml", tcx) is FileFormat.TCX
    assert file_format("", b"%PDF-1.7") is None
    assert file_format("image/png", gpx) is None


def test_a_route_is_written_as_gpx_that_reads_back() -> None:
    points = tuple(
        RoutePoint(START + timedelta(seconds=p.seconds), p.latitude or 0, 46.7, 610.0) for p in RUN
    )
    route = Route(uuid.uuid4(), "file-abc", "Evening Run", "Run", points)

    read = FORMATS.read(FileFormat.GPX, FORMATS.write_gpx(route))

    assert read.display_name == "Evening Run"
    assert [p.time for p in read.points] == [p.time for p in points]
    assert [p.latitude for p in read.points] == pytest.approx([p.latitude for p in points])
    assert [p.longitude for p in read.points] == pytest.approx([p.longitude for p in points])


def test_points_without_a_position_read_as_unlocated() -> None:
    indoor = [Point(seconds, None, None, None, seconds * 3.0, 140) for seconds in (0, 10, 20)]

    read = FORMATS.read(FileFormat.FIT, fit_file(START, indoor, sport="training"))

    assert [p.located for p in read.points] == [False, False, False]
    assert [p.distance_meters for p in read.points] == [0.0, 30.0, 60.0]
