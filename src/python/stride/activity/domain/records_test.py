"""Personal records from completed sets: estimates, rep maxes, ties and corrections."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from stride.activity.domain.records import (
    Lift,
    RecordKind,
    best_records,
    brzycki,
    epley,
    estimated_one_rep_max,
    improvements,
)

MEMBER, SQUAT = uuid.uuid4(), "exercises/barbell-back-squat"
DAY = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


def lift(weight: float, reps: int, days: int = 0) -> Lift:
    return Lift(uuid.uuid4(), uuid.uuid4(), weight, reps, DAY + timedelta(days=days))


def test_the_formulas_agree_at_ten_reps_and_a_single_is_its_own_weight() -> None:
    assert brzycki(100, 10) == pytest.approx(epley(100, 10), rel=0.01)
    assert estimated_one_rep_max(140, 1) == 140
    assert estimated_one_rep_max(100, 5) == pytest.approx(100 * 36 / 32)  # Brzycki.
    assert estimated_one_rep_max(60, 12) == pytest.approx(60 * (1 + 12 / 30))  # Epley.


@pytest.mark.parametrize(("weight", "reps"), [(100, 0), (100, 13), (0, 5), (-5, 5)])
def test_sets_that_say_too_little_estimate_nothing(weight: float, reps: int) -> None:
    assert estimated_one_rep_max(weight, reps) is None


def test_best_records_hold_the_top_estimate_and_each_rep_count_s_heaviest() -> None:
    records = best_records(
        MEMBER, SQUAT, [lift(100, 5), lift(105, 5, days=1), lift(120, 1, days=2), lift(60, 15)]
    )
    by_key = {record.key: record.weight_kg for record in records}
    assert by_key[(RecordKind.REP_MAX, 5)] == 105
    assert by_key[(RecordKind.REP_MAX, 1)] == 120
    assert by_key[(RecordKind.REP_MAX, 15)] == 60  # A rep max; too many reps to estimate from.
    # 120 × 1 beats 105 × 5 (118.1 estimated).
    assert by_key[(RecordKind.ESTIMATED_ONE_REP_MAX, 0)] == 120


def test_a_record_matched_later_stays_with_the_first_lift() -> None:
    first, matched = lift(100, 5), lift(100, 5, days=3)
    (estimate, rep_max) = best_records(MEMBER, SQUAT, [matched, first])
    assert estimate.lift == first
    assert rep_max.lift == first


def test_only_what_beats_the_stored_record_is_an_improvement() -> None:
    stored = {r.key: r for r in best_records(MEMBER, SQUAT, [lift(100, 5)])}
    again = best_records(MEMBER, SQUAT, [lift(100, 5), lift(100.0004, 5, days=1)])
    assert improvements(stored, again) == []  # Under a gram: the same weight.
    heavier = best_records(MEMBER, SQUAT, [lift(100, 5), lift(102.5, 5, days=1), lift(80, 8)])
    found = {
        i.record.key: i.previous.weight_kg if i.previous else None
        for i in improvements(stored, heavier)
    }
    assert found == {
        (RecordKind.REP_MAX, 5): 100,
        (RecordKind.ESTIMATED_ONE_REP_MAX, 0): pytest.approx(100 * 36 / 32),
        (RecordKind.REP_MAX, 8): None,
    }


def test_record_names_are_stable_per_member_exercise_and_kind() -> None:
    (estimate, rep_max) = best_records(MEMBER, SQUAT, [lift(100, 5)])
    (estimate_again, _) = best_records(MEMBER, SQUAT, [lift(110, 5)])
    assert estimate.id == estimate_again.id != rep_max.id
    assert estimate.resource_name == f"users/{MEMBER}/personalRecords/{estimate.id}"
