"""Goals: what each kind needs, and reaching one once (a weekly one, once a week)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from stride.activity.domain.goals import Goal, GoalKind, validate_goal, week_of
from stride.platform.errors import InvalidArgument

NOW = datetime(2026, 12, 2, tzinfo=UTC)
MONDAY = date(2026, 11, 30)


def test_a_one_rep_max_goal_is_reached_once() -> None:
    goal = Goal(uuid.uuid4(), uuid.uuid4(), GoalKind.ONE_REP_MAX, "exercises/x", 140, NOW)
    assert not goal.reached_by(139.9, None)
    assert goal.reached_by(140, None)
    assert not replace(goal, achieve_time=NOW).reached_by(150, None)


def test_a_weekly_goal_is_reached_once_a_week() -> None:
    goal = Goal(uuid.uuid4(), uuid.uuid4(), GoalKind.WEEKLY_SESSIONS, "", 3, NOW)
    reached = replace(goal, achieve_time=NOW, achieved_week=MONDAY)
    assert goal.reached_by(3, MONDAY)
    assert not reached.reached_by(4, MONDAY)
    assert reached.reached_by(3, date(2026, 12, 7))
    assert not reached.achieved  # Weekly goals go on.


def test_weeks_start_on_monday() -> None:
    assert week_of(date(2026, 12, 6)) == MONDAY  # A Sunday.
    assert week_of(MONDAY) == MONDAY


@pytest.mark.parametrize(
    ("kind", "exercise", "field"),
    [
        (None, "", "goal.kind"),
        (GoalKind.ONE_REP_MAX, "", "goal.exercise"),
        (GoalKind.WEEKLY_VOLUME, "exercises/x", "goal.exercise"),
    ],
)
def test_each_kind_says_what_it_needs(kind: GoalKind | None, exercise: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        validate_goal(kind, exercise, "goal")
    assert [v.field for v in raised.value.violations] == [field]
