from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from stride.activity.domain.activity_files import (
    ActivityFile,
    FileFormat,
    FileSummary,
    Sport,
    TrackPoint,
    distances,
    file_external_id,
    heart_rate_samples,
    keep_points,
    sport_of,
    summarize,
)
from stride.activity.domain.health import Device, DeviceType

START = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
NOW = START + timedelta(hours=2)


def at(seconds: float, **fields: float | None) -> TrackPoint:
    return TrackPoint(START + timedelta(seconds=seconds), **fields)


def test_impossible_points_are_dropped_and_counted_by_reason() -> None:
    points = [
        at(0, latitude=24.7, longitude=46.7, distance_meters=0, heart_rate=140),
        at(10, latitude=24.7001, longitude=46.7, distance_meters=30, heart_rate=0),
        at(10, latitude=24.7002, longitude=46.7, distance_meters=31),  # Same time again.
        at(5, latitude=24.7002, longitude=46.7, distance_meters=20),  # Earlier.
        at(20, latitude=95.0, longitude=46.7, distance_meters=60),
        at(30, latitude=24.7003, longitude=46.7, distance_meters=-5),
        at(40, latitude=24.7004, longitude=46.7, distance_meters=10),  # Shrinks.
        at(45, latitude=24.7004, longitude=46.7, distance_meters=42_949_669.96),  # Wrapped.
        at(50, latitude=25.7, longitude=46.7, distance_meters=150),  # 111 km in 40 s.
        TrackPoint(None, 24.7, 46.7),
        at(3 * 3600, latitude=24.7005, longitude=46.7, distance_meters=160),  # Future.
        at(60, latitude=24.7005, longitude=46.7, distance_meters=160, heart_rate=400),
    ]

    kept = keep_points(points, NOW)

    assert [p.time for p in kept.points] == [START, *(at(s).time for s in (10, 60))]
    assert kept.dropped == {
        "activity_file.point_repeated": 1,
        "activity_file.point_out_of_order": 1,
        "activity_file.impossible_position": 1,
        "activity_file.impossible_distance": 3,
        "activity_file.impossible_speed": 1,
        "activity_file.point_without_time": 1,
        "activity_file.point_in_future": 1,
    }
    assert kept.dropped_heart_rates == 2  # 0 and 400 bpm; their points stay.
    assert [p.heart_rate for p in kept.points] == [140, None, None]


def test_points_past_the_longest_activity_are_a_clock_gone_wrong() -> None:
    points = [at(0), at(3600), at(8 * 86400)]

    kept = keep_points(points, START + timedelta(days=30))

    assert len(kept.points) == 2
    assert kept.dropped == {"activity_file.point_too_late": 1}


def test_the_summary_prefers_what_the_file_states() -> None:
    points = tuple(
        at(s, latitude=24.7 + s * 3 / 111_195, longitude=46.7, elevation_meters=600 + (s % 20))
        for s in range(0, 610, 10)
    )
    stated = FileSummary(start_time=START, moving_seconds=550.0, average_heart_rate=155.0)
    file = ActivityFile(FileFormat.FIT, "running", "", Device(DeviceType.WATCH), stated, points)

    summary = summarize(file, keep_points(points, NOW))

    assert summary is not None
    assert summary.sport is Sport.RUN
    assert summary.display_name == "Run (FIT)"
    assert summary.elapsed_seconds == 600
    assert summary.moving_seconds == 550
    assert summary.distance_meters == pytest.approx(1800, rel=1e-3)
    assert summary.elevation_gain_meters == pytest.approx(30 * 10)
    assert summary.average_heart_rate == 155.0
    assert summary.max_heart_rate is None


def test_a_file_with_no_start_and_no_points_is_no_activity() -> None:
    file = ActivityFile(FileFormat.GPX, "", "", Device(DeviceType.OTHER), FileSummary(), ())
    assert summarize(file, keep_points((), NOW)) is None


def test_distance_comes_from_the_device_else_from_positions() -> None:
    measured = [at(0, distance_meters=100), at(10, distance_meters=130)]
    located = [at(0, latitude=0.0, longitude=0.0), at(10, latitude=0.0, longitude=0.001)]

    assert distances(measured) == [0, 30]
    assert distances(located) == pytest.approx([0, 111.195], rel=1e-4)
    assert distances([at(0)]) is None


@pytest.mark.parametrize(
    ("name", "sport"),
    [
        ("running", Sport.RUN),
        ("Biking", Sport.RIDE),
        ("cycling", Sport.RIDE),
        ("hiking", Sport.HIKE),
        ("training", Sport.WORKOUT),
    ],
)
def test_sport_names_of_the_formats(name: str, sport: Sport) -> None:
    assert sport_of(name) is sport


def test_the_same_file_is_one_activity_per_member() -> None:
    member, other = uuid.uuid4(), uuid.uuid4()
    assert file_external_id(member, b"file") == file_external_id(member, b"file")
    assert file_external_id(member, b"file") != file_external_id(other, b"file")
    assert len(file_external_id(member, b"file")) == 64


def test_heart_rates_become_instant_samples_with_stable_ids() -> None:
    samples = heart_rate_samples("f" * 64, [at(0, heart_rate=140), at(1), at(2, heart_rate=141)])
    assert [(s.id, s.value, s.unit) for s in samples] == [
        (f"{'f' * 40}:{int(START.timestamp())}", 140, "bpm"),
        (f"{'f' * 40}:{int(START.timestamp()) + 2}", 141, "bpm"),
    ]
