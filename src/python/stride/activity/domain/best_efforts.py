"""Best efforts: a member's fastest time over the standard running distances, found anywhere in
the track of a run they uploaded (not only from its start), as records they set.

Along a track the distance grows point by point; the time over a distance is taken between a
point and where the track reached that distance further on, found between the two points either
side of it as if the member ran evenly between them (as Strava and Garmin do)."""

from __future__ import annotations

import uuid
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# Times are compared in tenths of a second: a float's last bit must not make a repeat look
# like a record.
_TENTHS = 10


class EffortDistance(StrEnum):
    """The distances kept, by the id their records are named with."""

    ONE_KILOMETER = "1k"
    FIVE_KILOMETERS = "5k"
    TEN_KILOMETERS = "10k"
    HALF_MARATHON = "half-marathon"
    MARATHON = "marathon"

    @property
    def meters(self) -> float:
        return _METERS[self]


_METERS = {
    EffortDistance.ONE_KILOMETER: 1000.0,
    EffortDistance.FIVE_KILOMETERS: 5000.0,
    EffortDistance.TEN_KILOMETERS: 10000.0,
    EffortDistance.HALF_MARATHON: 21097.5,
    EffortDistance.MARATHON: 42195.0,
}


@dataclass(frozen=True)
class BestEffort:
    member_id: uuid.UUID
    distance: EffortDistance
    elapsed_seconds: float
    activity_id: str  # The imported activity it was run in.
    start_time: datetime  # When the effort began.

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/bestEfforts/{self.distance.value}"

    @property
    def activity_name(self) -> str:
        return f"users/{self.member_id}/importedActivities/{self.activity_id}"

    @property
    def achieve_time(self) -> datetime:
        return self.start_time + timedelta(seconds=self.elapsed_seconds)

    def beats(self, other: BestEffort | None) -> bool:
        return other is None or _tenths(self.elapsed_seconds) < _tenths(other.elapsed_seconds)


def best_efforts(
    member_id: uuid.UUID,
    activity_id: str,
    times: Sequence[datetime],
    along: Sequence[float],
) -> list[BestEffort]:
    """The fastest time over each distance the track covers. `times` and `along` (meters
    from the start, never shrinking) are the track's points in order."""
    if len(times) < 2 or len(times) != len(along):
        return []
    seconds = [(time - times[0]).total_seconds() for time in times]
    found = []
    for distance in EffortDistance:
        fastest = _fastest(seconds, along, distance.meters)
        if fastest is not None:
            start, elapsed = fastest
            found.append(
                BestEffort(
                    member_id,
                    distance,
                    elapsed,
                    activity_id,
                    times[0] + timedelta(seconds=start),
                )
            )
    return found


def _fastest(
    seconds: Sequence[float], along: Sequence[float], meters: float
) -> tuple[float, float] | None:
    """(start, elapsed) of the fastest stretch of `meters`, in seconds from the track's start."""
    best: tuple[float, float] | None = None
    for index, start_meters in enumerate(along):
        target = start_meters + meters
        end = bisect_left(along, target, lo=index + 1)
        if end == len(along):
            break  # Later starts reach no further.
        before = end - 1
        covered = along[end] - along[before]
        share = (target - along[before]) / covered if covered > 0 else 1.0
        reached = seconds[before] + share * (seconds[end] - seconds[before])
        elapsed = reached - seconds[index]
        if elapsed > 0 and (best is None or elapsed < best[1]):
            best = (seconds[index], elapsed)
    return best


@dataclass(frozen=True)
class EffortImprovement:
    effort: BestEffort
    previous: BestEffort | None


def effort_improvements(
    stored: Mapping[EffortDistance, BestEffort], found: Sequence[BestEffort]
) -> list[EffortImprovement]:
    """The efforts `found` that beat the stored ones."""
    return [
        EffortImprovement(effort, stored.get(effort.distance))
        for effort in found
        if effort.beats(stored.get(effort.distance))
    ]


def _tenths(seconds: float) -> int:
    return round(seconds * _TENTHS)
