"""The exercise library Stride ships (`exercises.json` beside this file; its source in
SOURCE.md), read into the domain's exercises with their media keys made into addresses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from stride.activity.domain.exercises import Exercise, Measurement, validate_exercise


@dataclass(frozen=True)
class Library:
    version: int
    exercises: tuple[Exercise, ...]


def load_library(media_base_url: str) -> Library:
    """The shipped library, each exercise held to the same rules as a studio's own, with its
    alternatives named and present."""
    text = resources.files(__package__).joinpath("exercises.json").read_text(encoding="utf-8")
    document = json.loads(text)
    base = media_base_url.rstrip("/")
    exercises = tuple(
        validate_exercise(_exercise(item, base), field=f"exercises[{index}]")
        for index, item in enumerate(document["exercises"])
    )
    names = {exercise.name for exercise in exercises}
    missing = {a for e in exercises for a in e.alternatives if a not in names}
    if len(names) != len(exercises) or missing:
        raise ValueError(f"exercise library: repeated ids or unknown alternatives {missing}")
    return Library(int(document["version"]), exercises)


def _exercise(item: dict[str, Any], media_base_url: str) -> Exercise:
    media = item["media"]
    return Exercise(
        name=f"exercises/{item['id']}",
        display_name_en=item["name_en"],
        display_name_ar=item["name_ar"],
        category=item["category"],
        mechanics=item["mechanics"],
        measurement=Measurement(item["measurement"]),
        primary_muscles=tuple(item["primary_muscles"]),
        secondary_muscles=tuple(item["secondary_muscles"]),
        equipment=tuple(item["equipment"]),
        image_uri=f"{media_base_url}/{media['image']}",
        video_uri=f"{media_base_url}/{media['video']}",
        alternatives=tuple(f"exercises/{other}" for other in item["alternatives"]),
        instructions_en=item["instructions_en"],
        instructions_ar=item["instructions_ar"],
    )
