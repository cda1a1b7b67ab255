"""The exercise library Stride ships loads, holds to the vocabulary and speaks both languages."""

from __future__ import annotations

import re
from collections import Counter

from stride.activity.adapters.exercise_library import load_library
from stride.activity.domain.exercises import CATEGORIES

ARABIC = re.compile(r"[\u0600-\u06FF]")


def test_the_library_has_at_least_a_hundred_exercises_in_both_languages() -> None:
    library = load_library("https://media.example")
    assert len(library.exercises) >= 100
    for exercise in library.exercises:
        assert ARABIC.search(exercise.display_name_ar), exercise.name
        assert ARABIC.search(exercise.instructions_ar), exercise.name
        assert exercise.display_name_en
        assert exercise.instructions_en
        assert exercise.image_uri.startswith("https://media.example/exercises/")


def test_every_category_is_covered_and_alternatives_are_other_exercises() -> None:
    library = load_library("https://media.example")
    assert set(Counter(e.category for e in library.exercises)) == set(CATEGORIES)
    for exercise in library.exercises:
        assert exercise.alternatives
        assert exercise.name not in exercise.alternatives
