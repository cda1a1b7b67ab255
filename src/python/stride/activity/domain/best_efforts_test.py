from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from stride.activity.domain.best_efforts import (
    BestEffort,
    EffortDistance,
    best_efforts,
    effort_improvements,
)

START = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
MEMBER = uuid.uuid4()


def track(paces: list[tuple[float, float]]) -> tuple[list[datetime], list[float]]:
    """Points every 10 s through stretches of (meters, seconds per km)."""
    times, along, at, covered = [START], [0.0], 0.0, 0.0
    for meters, pace in paces:
        end = covered + meters
        while covered < end - 1e-9:
            step = min(10 * 1000 / pace, end - covered)
            at += step * pace / 1000
            covered += step
            times.append(START + timedelta(seconds=at))
            along.append(covered)
    return times, along


def test_the_fastest_stretch_counts_wherever_it_is() -> None:
    # 2 km easy (6:00/km), 1 km hard (4:00/km), 3 km easy.
    times, along = track([(2000, 360), (1000, 240), (3000, 360)])

    found = {e.distance: e for e in best_efforts(MEMBER, "file-x", times, along)}

    assert set(found) == {EffortDistance.ONE_KILOMETER, EffortDistance.FIVE_KILOMETERS}
    one = found[EffortDistance.ONE_KILOMETER]
    assert one.elapsed_seconds == pytest.approx(240, abs=0.01)
    assert one.start_time == START + timedelta(seconds=720)
    # 5 km: the hard kilometer and four easy ones.
    assert found[EffortDistance.FIVE_KILOMETERS].elapsed_seconds == pytest.approx(4 * 360 + 240)
    assert one.resource_name == f"users/{MEMBER}/bestEfforts/1k"


def test_a_distance_between_points_is_reached_evenly() -> None:
    times = [START, START + timedelta(seconds=100), START + timedelta(seconds=400)]
    found = best_efforts(MEMBER, "file-x", times, [0.0, 400.0, 1400.0])
    assert found[0].elapsed_seconds == pytest.approx(100 + 0.6 * 300)


def test_a_short_track_sets_nothing() -> None:
    assert best_efforts(MEMBER, "file-x", [START], [0.0]) == []
    times, along = track([(900, 300)])
    assert best_efforts(MEMBER, "file-x", times, along) == []


def test_only_a_faster_time_improves_on_the_stored_one() -> None:
    def effort(seconds: float) -> BestEffort:
        return BestEffort(MEMBER, EffortDistance.FIVE_KILOMETERS, seconds, "file-x", START)

    stored = {EffortDistance.FIVE_KILOMETERS: effort(1500.0)}

    assert effort_improvements(stored, [effort(1500.04)]) == []
    assert effort_improvements(stored, [effort(1510.0)]) == []
    (better,) = effort_improvements(stored, [effort(1490.0)])
    assert better.previous == effort(1500.0)
    (first,) = effort_improvements({}, [effort(1600.0)])
    assert first.previous is None
