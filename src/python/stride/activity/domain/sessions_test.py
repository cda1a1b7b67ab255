"""Merging uploads of a session logged offline, on one device or several."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from stride.activity.domain.sessions import (
    LoggedSet,
    SessionFields,
    SessionState,
    merge,
    validate_upload,
)
from stride.platform.errors import InvalidArgument

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
MEMBER, SESSION = uuid.uuid4(), uuid.uuid4()
SQUAT = "exercises/barbell-back-squat"
FIELDS = SessionFields(
    display_name="Legs",
    workout_template="",
    class_session="",
    state=SessionState.IN_PROGRESS,
    start_time=NOW - timedelta(hours=1),
    end_time=None,
    notes="",
    version=1,
)
DONE = replace(FIELDS, state=SessionState.COMPLETED, end_time=NOW, version=2)


def logged(reps: int = 5, weight: float = 100.0, version: int = 1) -> LoggedSet:
    return LoggedSet(uuid.uuid4(), SQUAT, 0, reps, weight, version=version)


def test_a_first_upload_creates_the_session_with_its_sets() -> None:
    sets = (logged(), logged(reps=3, weight=110))
    merged = merge(None, MEMBER, SESSION, FIELDS, sets, NOW)
    assert set(merged.session.sets) == set(sets)
    assert merged.changed_sets == sets
    assert merged.fields_changed
    assert not merged.completed_now
    assert merged.session.volume_kg == 5 * 100 + 3 * 110


def test_the_same_upload_again_changes_nothing() -> None:
    sets = (logged(),)
    first = merge(None, MEMBER, SESSION, DONE, sets, NOW).session
    again = merge(first, MEMBER, SESSION, DONE, sets, NOW + timedelta(minutes=1))
    assert not again.changed
    assert not again.completed_now
    assert again.session == first


def test_each_set_keeps_its_highest_version() -> None:
    kept, edited = logged(version=3), logged(version=1)
    stored = merge(None, MEMBER, SESSION, FIELDS, (kept, edited), NOW).session
    older_kept = replace(kept, reps=1, version=2)  # An older device's copy: ignored.
    newer_edit = replace(edited, reps=8, version=2)
    merged = merge(stored, MEMBER, SESSION, FIELDS, (older_kept, newer_edit), NOW)
    assert {s.id: s.reps for s in merged.session.sets} == {kept.id: 5, edited.id: 8}
    assert merged.changed_sets == (newer_edit,)


def test_a_set_left_out_stays_and_a_deleted_one_stops_counting() -> None:
    first, second = logged(), logged(weight=50)
    stored = merge(None, MEMBER, SESSION, FIELDS, (first, second), NOW).session
    merged = merge(
        stored, MEMBER, SESSION, FIELDS, (replace(second, deleted=True, version=2),), NOW
    )
    assert len(merged.session.sets) == 2
    assert merged.session.live_sets == (first,)
    assert merged.session.volume_kg == 500


def test_completing_happens_once_and_an_older_upload_cannot_reopen() -> None:
    stored = merge(None, MEMBER, SESSION, FIELDS, (), NOW).session
    completed = merge(stored, MEMBER, SESSION, DONE, (), NOW)
    assert completed.completed_now
    assert completed.session.complete_time == NOW
    reopened = replace(FIELDS, version=5, display_name="Legs!")
    later = merge(completed.session, MEMBER, SESSION, reopened, (), NOW + timedelta(hours=1))
    assert later.session.completed
    assert not later.completed_now
    assert later.session.fields.display_name == "Legs!"
    assert later.session.fields.end_time == NOW
    assert later.session.complete_time == NOW


def test_more_sets_than_a_session_holds_are_refused() -> None:
    sets = tuple(logged() for _ in range(300))
    stored = merge(None, MEMBER, SESSION, FIELDS, sets, NOW).session
    with pytest.raises(InvalidArgument):
        merge(stored, MEMBER, SESSION, FIELDS, tuple(logged() for _ in range(201)), NOW)


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        (
            replace(FIELDS, start_time=NOW + timedelta(hours=1)),
            "start_time",
            "workout_session.in_future",
        ),
        (replace(DONE, end_time=None), "end_time", "workout_session.end_required"),
        (
            replace(DONE, end_time=FIELDS.start_time - timedelta(1)),
            "end_time",
            "workout_session.ends_first",
        ),
        (
            replace(DONE, start_time=NOW - timedelta(hours=30)),
            "end_time",
            "workout_session.too_long",
        ),
    ],
)
def test_times_that_cannot_be_a_workout_are_refused(
    fields: SessionFields, field: str, reason: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        validate_upload(fields, (), NOW)
    assert {(v.field, v.message_key) for v in raised.value.violations} == {
        (f"workout_session.{field}", reason)
    }


def test_a_set_sent_twice_in_one_upload_is_refused() -> None:
    once = logged()
    with pytest.raises(InvalidArgument) as raised:
        validate_upload(FIELDS, (once, replace(once, reps=9)), NOW)
    assert [v.field for v in raised.value.violations] == ["workout_session.sets[1].id"]


def test_a_phone_clock_a_little_ahead_is_tolerated() -> None:
    validate_upload(replace(FIELDS, start_time=NOW + timedelta(minutes=4)), (), NOW)
