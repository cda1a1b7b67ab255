"""Workout templates: what a coach plans, as ordered blocks of planned sets."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from stride.platform.errors import FieldViolation, InvalidArgument


class BlockKind(enum.Enum):
    STRAIGHT_SETS = "straight_sets"
    SUPERSET = "superset"
    CIRCUIT = "circuit"
    AMRAP = "amrap"
    EMOM = "emom"
    FOR_TIME = "for_time"


@dataclass(frozen=True)
class PlannedSet:
    exercise: str
    reps_min: int = 0
    reps_max: int = 0
    weight_kg: float = 0.0
    percent_one_rep_max: float = 0.0
    reps_in_reserve: float | None = None
    rpe: float | None = None
    tempo: str = ""
    rest_seconds: int = 0
    duration_seconds: int = 0
    distance_meters: float = 0.0


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    sets: tuple[PlannedSet, ...]
    rounds: int = 1
    time_cap_seconds: int = 0
    interval_seconds: int = 0


@dataclass(frozen=True)
class WorkoutTemplate:
    id: uuid.UUID
    # `studios/{studio}` for a coach's workout, `users/{user}` for a member's own copy.
    owner: str
    display_name: str
    description: str
    blocks: tuple[Block, ...]
    author: str  # `users/{user}`
    create_time: datetime
    source: str = ""  # A copy's original: `studios/{studio}/workoutTemplates/{id}`.

    @property
    def resource_name(self) -> str:
        return f"{self.owner}/workoutTemplates/{self.id}"

    @property
    def members(self) -> bool:
        """Whether a member owns it (their copy), rather than a studio."""
        return self.owner.startswith("users/")

    @property
    def exercises(self) -> frozenset[str]:
        return frozenset(planned.exercise for block in self.blocks for planned in block.sets)


def validate_blocks(blocks: tuple[Block, ...], field: str) -> tuple[Block, ...]:
    """Blocks a member can follow: each with sets, a clock where its kind runs on one, reps as a
    range that is one, and a load given one way."""
    violations: list[FieldViolation] = []
    if not blocks:
        violations.append(FieldViolation(field, "field.required"))
    for index, block in enumerate(blocks):
        at = f"{field}[{index}]"
        if not block.sets:
            violations.append(FieldViolation(f"{at}.sets", "field.required"))
        if block.kind in (BlockKind.AMRAP, BlockKind.EMOM) and block.time_cap_seconds <= 0:
            violations.append(
                FieldViolation(f"{at}.time_cap_seconds", "workout_template.needs_clock")
            )
        if block.kind is BlockKind.SUPERSET and len({s.exercise for s in block.sets}) < 2:
            violations.append(FieldViolation(f"{at}.sets", "workout_template.superset_needs_two"))
        for number, planned in enumerate(block.sets):
            where = f"{at}.sets[{number}]"
            if planned.reps_max and planned.reps_min > planned.reps_max:
                violations.append(
                    FieldViolation(f"{where}.reps_max", "workout_template.reps_range")
                )
            if planned.weight_kg and planned.percent_one_rep_max:
                violations.append(
                    FieldViolation(f"{where}.percent_one_rep_max", "workout_template.one_load")
                )
            if planned.reps_in_reserve is not None and planned.rpe is not None:
                violations.append(FieldViolation(f"{where}.rpe", "workout_template.one_effort"))
    if violations:
        raise InvalidArgument(violations)
    return blocks
