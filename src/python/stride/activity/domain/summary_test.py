"""Sets and kilograms per muscle group over a week."""

from __future__ import annotations

import pytest

from stride.activity.domain.summary import MuscleVolume, SetWorked, muscle_volumes


def test_primary_muscles_count_whole_sets_and_secondary_ones_half() -> None:
    squat = SetWorked(("quads", "glutes"), ("hamstrings",), reps=5, weight_kg=100)
    row = SetWorked(("upper_back",), ("biceps",), reps=10, weight_kg=50)
    found = {m.muscle: m for m in muscle_volumes([squat, squat, row])}
    assert found["quads"] == MuscleVolume("quads", 2.0, 1000.0)
    assert found["hamstrings"] == MuscleVolume("hamstrings", 1.0, 500.0)
    assert found["biceps"].sets == pytest.approx(0.5)
    assert [m.muscle for m in muscle_volumes([squat, row])][:2] == ["glutes", "quads"]
