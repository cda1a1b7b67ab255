"""Personal records: a member's best estimated one-rep max and rep maxes on an exercise, from
the sets of their completed sessions.

The one-rep max is estimated with Brzycki's formula up to 10 reps and Epley's above (the two
agree at 10; Brzycki tracks tested maxes better at low reps, Epley at higher ones), and only
from sets of at most 12 reps: past that either formula guesses more than it estimates.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

MAX_ESTIMATE_REPS = 12
MAX_REP_MAX_REPS = 20
_RECORDS = uuid.UUID("7a3c1d1e-4f0b-4a55-9a1f-2c6b8e0d5a31")
# Weights are compared in grams: a float's last bit must not make a repeat look like a record.
_GRAMS = 1000


class RecordKind(enum.Enum):
    ESTIMATED_ONE_REP_MAX = "estimated_one_rep_max"
    REP_MAX = "rep_max"


def epley(weight_kg: float, reps: int) -> float:
    return weight_kg * (1 + reps / 30)


def brzycki(weight_kg: float, reps: int) -> float:
    return weight_kg * 36 / (37 - reps)


def estimated_one_rep_max(weight_kg: float, reps: int) -> float | None:
    """None where a set says too little (no reps, or too many to estimate from)."""
    if reps < 1 or reps > MAX_ESTIMATE_REPS or weight_kg <= 0:
        return None
    if reps == 1:
        return weight_kg
    return brzycki(weight_kg, reps) if reps <= 10 else epley(weight_kg, reps)


@dataclass(frozen=True)
class Lift:
    """A completed set that counts: a load moved for reps."""

    session_id: uuid.UUID
    set_id: uuid.UUID
    weight_kg: float
    reps: int
    achieve_time: datetime


@dataclass(frozen=True)
class PersonalRecord:
    member_id: uuid.UUID
    exercise: str
    kind: RecordKind
    reps: int  # The rep max's reps; for an estimate, the reps of the set it came from.
    weight_kg: float  # The record: lifted, or estimated for one rep.
    lift: Lift

    @property
    def key(self) -> tuple[RecordKind, int]:
        """One record per kind, and per rep count for rep maxes."""
        return (self.kind, self.reps if self.kind is RecordKind.REP_MAX else 0)

    @property
    def id(self) -> uuid.UUID:
        kind, reps = self.key
        return uuid.uuid5(_RECORDS, f"{self.member_id}|{self.exercise}|{kind.value}|{reps}")

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/personalRecords/{self.id}"

    def beats(self, other: PersonalRecord | None) -> bool:
        return other is None or _grams(self.weight_kg) > _grams(other.weight_kg)


def best_records(
    member_id: uuid.UUID, exercise: str, lifts: Iterable[Lift]
) -> list[PersonalRecord]:
    """The records these lifts hold; the earliest lift holds a record that was matched later."""
    best: dict[tuple[RecordKind, int], PersonalRecord] = {}
    for lift in sorted(lifts, key=lambda lift: (lift.achieve_time, str(lift.set_id))):
        candidates = []
        estimate = estimated_one_rep_max(lift.weight_kg, lift.reps)
        if estimate is not None:
            candidates.append(
                PersonalRecord(
                    member_id, exercise, RecordKind.ESTIMATED_ONE_REP_MAX, lift.reps, estimate, lift
                )
            )
        if 1 <= lift.reps <= MAX_REP_MAX_REPS and lift.weight_kg > 0:
            candidates.append(
                PersonalRecord(
                    member_id, exercise, RecordKind.REP_MAX, lift.reps, lift.weight_kg, lift
                )
            )
        for candidate in candidates:
            if candidate.beats(best.get(candidate.key)):
                best[candidate.key] = candidate
    return sorted(best.values(), key=lambda record: record.key[1])


@dataclass(frozen=True)
class Improvement:
    record: PersonalRecord
    previous: PersonalRecord | None


def improvements(
    stored: Mapping[tuple[RecordKind, int], PersonalRecord], best: Iterable[PersonalRecord]
) -> list[Improvement]:
    """The records `best` sets above what was stored (an edit that lowers a record is a
    correction, not a record)."""
    return [
        Improvement(record, stored.get(record.key))
        for record in best
        if record.beats(stored.get(record.key))
    ]


def _grams(weight_kg: float) -> int:
    return round(weight_kg * _GRAMS)
