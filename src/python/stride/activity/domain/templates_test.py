"""Blocks a member can follow."""

from __future__ import annotations

import pytest

from stride.activity.domain.templates import Block, BlockKind, PlannedSet, validate_blocks
from stride.platform.errors import InvalidArgument

SQUAT, ROW = PlannedSet("exercises/barbell-back-squat", 5, 5), PlannedSet("exercises/rowing", 0, 0)


def reasons(blocks: tuple[Block, ...]) -> set[tuple[str, str]]:
    with pytest.raises(InvalidArgument) as raised:
        validate_blocks(blocks, "blocks")
    return {(v.field, v.message_key) for v in raised.value.violations}


def test_every_kind_of_block_with_what_it_needs_is_accepted() -> None:
    blocks = (
        Block(BlockKind.STRAIGHT_SETS, (SQUAT,)),
        Block(BlockKind.SUPERSET, (SQUAT, ROW), rounds=3),
        Block(BlockKind.CIRCUIT, (SQUAT, ROW), rounds=4),
        Block(BlockKind.AMRAP, (SQUAT,), time_cap_seconds=600),
        Block(BlockKind.EMOM, (SQUAT,), time_cap_seconds=600, interval_seconds=60),
        Block(BlockKind.FOR_TIME, (SQUAT, ROW)),
    )
    assert validate_blocks(blocks, "blocks") == blocks


def test_blocks_that_cannot_be_followed_are_refused_naming_each_field() -> None:
    bad_set = PlannedSet(
        "exercises/barbell-back-squat",
        8,
        5,
        weight_kg=100,
        percent_one_rep_max=75,
        reps_in_reserve=2,
        rpe=8,
    )
    assert reasons(
        (
            Block(BlockKind.AMRAP, (SQUAT,)),
            Block(BlockKind.SUPERSET, (SQUAT, SQUAT)),
            Block(BlockKind.STRAIGHT_SETS, ()),
            Block(BlockKind.STRAIGHT_SETS, (bad_set,)),
        )
    ) == {
        ("blocks[0].time_cap_seconds", "workout_template.needs_clock"),
        ("blocks[1].sets", "workout_template.superset_needs_two"),
        ("blocks[2].sets", "field.required"),
        ("blocks[3].sets[0].reps_max", "workout_template.reps_range"),
        ("blocks[3].sets[0].percent_one_rep_max", "workout_template.one_load"),
        ("blocks[3].sets[0].rpe", "workout_template.one_effort"),
    }
    assert reasons(()) == {("blocks", "field.required")}
