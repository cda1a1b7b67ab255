"""Exercises between protobuf and the domain, and what a list of them is filtered on."""

from __future__ import annotations

from stride.activity.domain.exercises import CATEGORIES, EQUIPMENT, MUSCLES, Exercise, Measurement
from stride.activity.v1 import activity_service_pb2 as pb
from stride.platform.filtering import FilterField, FilterSchema, Operator

# Equality only: `muscle` and `equipment` match any entry of the exercise's lists.
EXERCISE_FILTER = FilterSchema(
    {
        "category": FilterField.enum(CATEGORIES, (Operator.EQUAL,)),
        "muscle": FilterField.enum(MUSCLES, (Operator.EQUAL,)),
        "equipment": FilterField.enum(EQUIPMENT, (Operator.EQUAL,)),
    }
)
_MEASUREMENTS = {
    Measurement.WEIGHT_REPS: pb.Exercise.MEASUREMENT_WEIGHT_REPS,
    Measurement.REPS: pb.Exercise.MEASUREMENT_REPS,
    Measurement.DURATION: pb.Exercise.MEASUREMENT_DURATION,
    Measurement.DISTANCE_DURATION: pb.Exercise.MEASUREMENT_DISTANCE_DURATION,
    Measurement.WEIGHT_DISTANCE: pb.Exercise.MEASUREMENT_WEIGHT_DISTANCE,
}
_MEASURED_AS = {value: key for key, value in _MEASUREMENTS.items()}


def exercise_from_proto(given: pb.Exercise) -> Exercise:
    """A studio's new exercise as given (its name comes from the request's parent and id); an
    unset measurement is weight and reps, as most gym exercises are logged."""
    return Exercise(
        name="",
        display_name_en=given.display_name_en,
        display_name_ar=given.display_name_ar,
        category=given.category,
        mechanics=given.mechanics,
        measurement=_MEASURED_AS.get(given.measurement, Measurement.WEIGHT_REPS),
        primary_muscles=tuple(given.primary_muscles),
        secondary_muscles=tuple(given.secondary_muscles),
        equipment=tuple(given.equipment),
        image_uri=given.image_uri,
        video_uri=given.video_uri,
        alternatives=tuple(given.alternatives),
        instructions_en=given.instructions_en,
        instructions_ar=given.instructions_ar,
    )


def exercise_to_proto(exercise: Exercise) -> pb.Exercise:
    return pb.Exercise(
        name=exercise.name,
        display_name_en=exercise.display_name_en,
        display_name_ar=exercise.display_name_ar,
        category=exercise.category,
        mechanics=exercise.mechanics,
        measurement=_MEASUREMENTS[exercise.measurement],
        primary_muscles=exercise.primary_muscles,
        secondary_muscles=exercise.secondary_muscles,
        equipment=exercise.equipment,
        image_uri=exercise.image_uri,
        video_uri=exercise.video_uri,
        alternatives=exercise.alternatives,
        instructions_en=exercise.instructions_en,
        instructions_ar=exercise.instructions_ar,
    )
