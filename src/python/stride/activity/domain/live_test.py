"""Heart-rate zones and what a live session's watchers hear."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from stride.activity.domain.heart_rate import zone_of
from stride.activity.domain.live import (
    HeartRate,
    LiveChange,
    UpdateKind,
    heart_rate_changes,
    upload_changes,
)
from stride.activity.domain.sessions import (
    LoggedSet,
    SessionFields,
    SessionState,
    WorkoutSession,
    validate_upload,
)
from stride.platform.errors import InvalidArgument

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
START = NOW - timedelta(minutes=30)
SESSION = WorkoutSession(
    uuid.uuid4(),
    uuid.uuid4(),
    SessionFields(
        display_name="Spin",
        workout_template="",
        class_session="studios/olaya/classSessions/spin",
        state=SessionState.IN_PROGRESS,
        start_time=START,
        end_time=None,
        notes="",
        version=1,
    ),
    (),
    NOW,
)


@pytest.mark.parametrize(
    ("bpm", "zone"),
    [
        (60, 0),  # Resting: below zone 1.
        (99, 0),
        (100, 1),  # 50 %
        (119, 1),
        (120, 2),  # 60 %
        (139, 2),
        (140, 3),  # 70 %
        (160, 4),  # 80 %
        (179, 4),
        (180, 5),  # 90 %
        (200, 5),  # 100 %
        (230, 5),  # Above the stated maximum.
    ],
)
def test_zones_are_shares_of_the_maximum_heart_rate(bpm: int, zone: int) -> None:
    assert zone_of(bpm, 200) == zone


def test_readings_get_zones_from_the_session_s_maximum_or_the_default() -> None:
    readings = (HeartRate(NOW - timedelta(minutes=1), 171),)
    (default,) = heart_rate_changes(SESSION, readings, NOW, default_max_heart_rate=190)
    assert default.heart_rate == HeartRate(readings[0].time, 171, 5)  # 90 % of 190.
    fit = replace(SESSION, fields=replace(SESSION.fields, max_heart_rate=200))
    (own,) = heart_rate_changes(fit, readings, NOW, default_max_heart_rate=190)
    assert own.heart_rate == HeartRate(readings[0].time, 171, 4)  # 85.5 % of 200.


def test_a_batch_with_one_reading_outside_the_session_is_refused_whole() -> None:
    readings = (
        HeartRate(NOW - timedelta(minutes=1), 150),
        HeartRate(START - timedelta(minutes=1), 150),  # Before the session.
        HeartRate(NOW + timedelta(minutes=10), 150),  # Past the clock skew.
        HeartRate(NOW + timedelta(minutes=2), 150),  # Within the clock skew.
    )
    with pytest.raises(InvalidArgument) as refused:
        heart_rate_changes(SESSION, readings, NOW, default_max_heart_rate=190)
    assert [(v.field, v.message_key) for v in refused.value.violations] == [
        ("readings[1].time", "workout_session.reading_outside"),
        ("readings[2].time", "workout_session.in_future"),
    ]


def test_a_completed_session_takes_readings_up_to_its_end_only() -> None:
    ended = replace(
        SESSION,
        fields=replace(
            SESSION.fields, state=SessionState.COMPLETED, end_time=NOW - timedelta(minutes=5)
        ),
    )
    during = HeartRate(NOW - timedelta(minutes=6), 130)
    assert heart_rate_changes(ended, (during,), NOW, 190)
    with pytest.raises(InvalidArgument):
        heart_rate_changes(ended, (HeartRate(NOW - timedelta(minutes=4), 130),), NOW, 190)


def test_an_empty_batch_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        heart_rate_changes(SESSION, (), NOW, 190)


def test_an_upload_tells_watchers_the_start_its_changed_sets_and_the_completion_in_order() -> None:
    logged = LoggedSet(uuid.uuid4(), "exercises/plank", duration_seconds=60)
    assert upload_changes((logged,), created=True, completed_now=True) == [
        LiveChange(UpdateKind.STATE, state=SessionState.IN_PROGRESS),
        LiveChange(UpdateKind.SET, logged_set=logged),
        LiveChange(UpdateKind.STATE, state=SessionState.COMPLETED),
    ]
    assert upload_changes((), created=False, completed_now=False) == []


def test_a_maximum_heart_rate_no_heart_has_is_refused() -> None:
    with pytest.raises(InvalidArgument) as refused:
        validate_upload(replace(SESSION.fields, max_heart_rate=60), (), NOW)
    assert refused.value.violations[0].field == "workout_session.max_heart_rate"
    validate_upload(replace(SESSION.fields, max_heart_rate=0), (), NOW)
