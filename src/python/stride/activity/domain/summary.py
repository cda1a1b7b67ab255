"""A member's week of training: sessions, and sets and kilograms per muscle group."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

# A set works its exercise's secondary muscles too, but less: counted as half a set (the
# convention of volume-per-muscle trackers, e.g. fractional sets in hypertrophy research).
SECONDARY_SHARE = 0.5


@dataclass(frozen=True)
class SetWorked:
    primary_muscles: tuple[str, ...]
    secondary_muscles: tuple[str, ...]
    reps: int
    weight_kg: float


@dataclass(frozen=True)
class MuscleVolume:
    muscle: str
    sets: float
    volume_kg: float


def muscle_volumes(sets: Iterable[SetWorked]) -> list[MuscleVolume]:
    """Per muscle, most sets first."""
    counted: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for worked in sets:
        volume = worked.reps * worked.weight_kg
        for muscles, share in (
            (worked.primary_muscles, 1.0),
            (worked.secondary_muscles, SECONDARY_SHARE),
        ):
            for muscle in muscles:
                counted[muscle][0] += share
                counted[muscle][1] += share * volume
    return sorted(
        (MuscleVolume(muscle, sets, volume) for muscle, (sets, volume) in counted.items()),
        key=lambda found: (-found.sets, found.muscle),
    )


@dataclass(frozen=True)
class TrainingWeek:
    sessions: int
    class_sessions: int  # Of the sessions, those done in a class.
    muscle_volumes: list[MuscleVolume]
