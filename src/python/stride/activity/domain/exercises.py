"""Exercises: the library every studio shares and the ones a studio adds, in one vocabulary of
categories, muscles and equipment so that filters and weekly volume per muscle agree."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from stride.platform.errors import FieldViolation, InvalidArgument

EXERCISE_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
CATEGORIES = ("strength", "cardio", "mobility", "plyometrics", "core", "olympic")
MECHANICS = ("compound", "isolation")
MUSCLES = (
    "chest",
    "upper_back",
    "lats",
    "lower_back",
    "traps",
    "front_delts",
    "side_delts",
    "rear_delts",
    "biceps",
    "triceps",
    "forearms",
    "abs",
    "obliques",
    "glutes",
    "quads",
    "hamstrings",
    "adductors",
    "abductors",
    "calves",
    "hip_flexors",
    "neck",
    "cardiovascular",
)
EQUIPMENT = (
    "barbell",
    "dumbbell",
    "kettlebell",
    "cable",
    "machine",
    "band",
    "bench",
    "pull_up_bar",
    "smith_machine",
    "ez_bar",
    "trap_bar",
    "medicine_ball",
    "plate",
    "rower",
    "bike",
    "treadmill",
    "ski_erg",
    "elliptical",
    "jump_rope",
    "box",
    "sled",
    "suspension_trainer",
    "rings",
    "parallel_bars",
    "foam_roller",
    "mat",
)


class Measurement(enum.Enum):
    """How a set of the exercise is logged."""

    WEIGHT_REPS = "weight_reps"
    REPS = "reps"
    DURATION = "duration"
    DISTANCE_DURATION = "distance_duration"
    WEIGHT_DISTANCE = "weight_distance"


@dataclass(frozen=True)
class Exercise:
    name: str  # `exercises/{slug}` (the library) or `studios/{studio}/exercises/{slug}`.
    display_name_en: str
    display_name_ar: str
    category: str
    mechanics: str
    measurement: Measurement
    primary_muscles: tuple[str, ...]
    secondary_muscles: tuple[str, ...] = ()
    equipment: tuple[str, ...] = ()
    image_uri: str = ""
    video_uri: str = ""
    alternatives: tuple[str, ...] = ()
    instructions_en: str = ""
    instructions_ar: str = ""

    @property
    def studio(self) -> str | None:
        """`studios/{studio}` for a studio's own exercise; None for the shared library."""
        return self.name.rsplit("/exercises/", 1)[0] if self.name.startswith("studios/") else None

    @property
    def loaded(self) -> bool:
        """Whether its sets carry a load and reps, and so count towards strength records."""
        return self.measurement is Measurement.WEIGHT_REPS


def studio_exercise_name(studio: str, slug: str) -> str:
    if not EXERCISE_SLUG.match(slug):
        raise InvalidArgument([FieldViolation("exercise_id", "exercise.invalid_slug")])
    return f"{studio}/exercises/{slug}"


def validate_exercise(exercise: Exercise, field: str = "exercise") -> Exercise:
    """A studio's exercise holds to the library's vocabulary, so it filters and counts like one
    of the library's."""
    violations = []
    for name, value in (
        ("display_name_en", exercise.display_name_en),
        ("display_name_ar", exercise.display_name_ar),
    ):
        if not value.strip():
            violations.append(FieldViolation(f"{field}.{name}", "field.required"))
    if exercise.category not in CATEGORIES:
        violations.append(_choice(f"{field}.category", CATEGORIES))
    if exercise.mechanics and exercise.mechanics not in MECHANICS:
        violations.append(_choice(f"{field}.mechanics", MECHANICS))
    if not exercise.primary_muscles:
        violations.append(FieldViolation(f"{field}.primary_muscles", "field.required"))
    for name, values, vocabulary in (
        ("primary_muscles", exercise.primary_muscles, MUSCLES),
        ("secondary_muscles", exercise.secondary_muscles, MUSCLES),
        ("equipment", exercise.equipment, EQUIPMENT),
    ):
        violations.extend(
            _choice(f"{field}.{name}[{index}]", vocabulary)
            for index, value in enumerate(values)
            if value not in vocabulary
        )
    if set(exercise.primary_muscles) & set(exercise.secondary_muscles):
        violations.append(FieldViolation(f"{field}.secondary_muscles", "exercise.muscle_twice"))
    if violations:
        raise InvalidArgument(violations)
    return exercise


def _choice(field: str, choices: tuple[str, ...]) -> FieldViolation:
    return FieldViolation(field, "field.invalid_choice", {"choices": ", ".join(choices)})
