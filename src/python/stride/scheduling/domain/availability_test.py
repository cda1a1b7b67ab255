from datetime import UTC, datetime, timedelta

import pytest

from stride.platform.errors import FailedPrecondition, InvalidArgument
from stride.scheduling.domain.availability import (
    AVAILABILITY_PARTS,
    check_teaches,
    validate_availability,
)

# Monday 2026-12-07, 07:00 in Riyadh (UTC+3).
MONDAY_7 = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
HOURS = validate_availability(
    [(1, "06:00", "12:00"), (3, "17:00", "21:00")],
    [("2026-12-14", []), ("2026-12-16", [("06:00", "08:00")])],
)


def teaches(start: datetime, minutes: int = 45) -> bool:
    try:
        check_teaches(HOURS, "Asia/Riyadh", start, start + timedelta(minutes=minutes))
    except FailedPrecondition:
        return False
    return True


def test_weekly_hours_and_exceptions() -> None:
    assert teaches(MONDAY_7)
    assert not teaches(MONDAY_7, minutes=6 * 60)  # Runs past noon.
    assert not teaches(MONDAY_7 + timedelta(days=1))  # Tuesdays off.
    assert not teaches(MONDAY_7 + timedelta(days=7))  # On leave that Monday.
    assert teaches(MONDAY_7 + timedelta(days=9))  # Extra hours that Wednesday morning.
    assert not teaches(MONDAY_7 + timedelta(days=2))  # A normal Wednesday: evenings only.


def test_nobody_teaches_without_hours() -> None:
    with pytest.raises(FailedPrecondition, match="INSTRUCTOR_UNAVAILABLE"):
        check_teaches(None, "Asia/Riyadh", MONDAY_7, MONDAY_7 + timedelta(minutes=45))


def test_bad_hours_are_reported_by_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        validate_availability([(8, "07:00", "06:00"), (1, "7am", "09:00")], [("tomorrow", [])])
    assert {v.field for v in refused.value.violations} == {
        "availability.weekly[0].day_of_week",
        "availability.weekly[0].end",
        "availability.weekly[1].start",
        "availability.exceptions[0].date",
    }


def test_an_update_replaces_only_the_parts_it_names() -> None:
    leave = validate_availability([], [("2026-12-21", [])])
    mornings = validate_availability([(2, "06:00", "09:00")], [])
    assert HOURS.with_parts_of(leave, ["exceptions"]) == leave.with_parts_of(HOURS, ["weekly"])
    assert HOURS.with_parts_of(leave, ["exceptions"]).weekly == HOURS.weekly
    assert HOURS.with_parts_of(mornings, ["weekly"]).exceptions == HOURS.exceptions
    assert HOURS.with_parts_of(mornings, AVAILABILITY_PARTS) == mornings
