"""Workout templates between protobuf and the domain."""

from __future__ import annotations

from stride.activity.domain.templates import Block, BlockKind, PlannedSet, WorkoutTemplate
from stride.activity.entrypoints.resource_names import exercise_name
from stride.activity.v1 import activity_service_pb2 as pb
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.grpc.timestamps import timestamp

_KINDS = {
    BlockKind.STRAIGHT_SETS: pb.Block.KIND_STRAIGHT_SETS,
    BlockKind.SUPERSET: pb.Block.KIND_SUPERSET,
    BlockKind.CIRCUIT: pb.Block.KIND_CIRCUIT,
    BlockKind.AMRAP: pb.Block.KIND_AMRAP,
    BlockKind.EMOM: pb.Block.KIND_EMOM,
    BlockKind.FOR_TIME: pb.Block.KIND_FOR_TIME,
}
_KIND_OF = {value: key for key, value in _KINDS.items()}
TEMPLATE_UPDATABLE = ("display_name", "description", "blocks")


def blocks_from_proto(given: pb.WorkoutTemplate) -> tuple[Block, ...]:
    blocks, violations = [], []
    for index, block in enumerate(given.blocks):
        at = f"workout_template.blocks[{index}]"
        kind = _KIND_OF.get(block.kind)
        if kind is None:
            violations.append(FieldViolation(f"{at}.kind", "field.required"))
            continue
        sets = tuple(
            _planned(planned, f"{at}.sets[{number}]") for number, planned in enumerate(block.sets)
        )
        blocks.append(
            Block(
                kind=kind,
                sets=sets,
                rounds=block.rounds or 1,
                time_cap_seconds=block.time_cap_seconds,
                interval_seconds=block.interval_seconds or (60 if kind is BlockKind.EMOM else 0),
            )
        )
    if violations:
        raise InvalidArgument(violations)
    return tuple(blocks)


def _planned(given: pb.PlannedSet, at: str) -> PlannedSet:
    return PlannedSet(
        exercise=exercise_name(given.exercise, f"{at}.exercise"),
        reps_min=given.reps_min,
        reps_max=given.reps_max or given.reps_min,
        weight_kg=given.weight_kg,
        percent_one_rep_max=given.percent_one_rep_max,
        reps_in_reserve=given.reps_in_reserve if given.HasField("reps_in_reserve") else None,
        rpe=given.rpe if given.HasField("rpe") else None,
        tempo=given.tempo,
        rest_seconds=given.rest_seconds,
        duration_seconds=given.duration_seconds,
        distance_meters=given.distance_meters,
    )


def template_to_proto(template: WorkoutTemplate) -> pb.WorkoutTemplate:
    return pb.WorkoutTemplate(
        name=template.resource_name,
        display_name=template.display_name,
        description=template.description,
        blocks=[
            pb.Block(
                kind=_KINDS[block.kind],
                rounds=block.rounds,
                time_cap_seconds=block.time_cap_seconds,
                interval_seconds=block.interval_seconds,
                sets=[
                    pb.PlannedSet(
                        exercise=planned.exercise,
                        reps_min=planned.reps_min,
                        reps_max=planned.reps_max,
                        weight_kg=planned.weight_kg,
                        percent_one_rep_max=planned.percent_one_rep_max,
                        reps_in_reserve=planned.reps_in_reserve,
                        rpe=planned.rpe,
                        tempo=planned.tempo,
                        rest_seconds=planned.rest_seconds,
                        duration_seconds=planned.duration_seconds,
                        distance_meters=planned.distance_meters,
                    )
                    for planned in block.sets
                ],
            )
            for block in template.blocks
        ],
        author=template.author,
        create_time=timestamp(template.create_time),
        source=template.source,
    )
