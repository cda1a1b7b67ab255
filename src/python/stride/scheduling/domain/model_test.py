import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stride.platform.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from stride.scheduling.domain.model import (
    Booking,
    BookingPolicy,
    BookingState,
    ClassSession,
    cancellation_state,
    check_can_book,
    choose_spot,
    promotion_open,
    schedule_class,
    validate_class_type,
    validate_room,
    validate_studio,
)

START = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
POLICY = BookingPolicy(
    booking_window_days=7, booking_cutoff_minutes=30, late_cancel_hours=12, max_active_bookings=3
)


def a_class(confirmed: int = 0, capacity: int = 2) -> ClassSession:
    return ClassSession(
        uuid.uuid4(), "olaya", uuid.uuid4(), uuid.uuid4(), "", START, START, capacity, confirmed
    )


def a_booking(state: BookingState) -> Booking:
    return Booking(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "olaya", state, START, START)


def reason(error: pytest.ExceptionInfo[FailedPrecondition]) -> str:
    return error.value.reason


def test_a_spot_while_free_then_the_waitlist() -> None:
    now = START - timedelta(days=1)
    free = check_can_book(a_class(1), POLICY, now, already_booked=False, active_bookings=0)
    full = check_can_book(a_class(2), POLICY, now, already_booked=False, active_bookings=0)
    assert (free, full) == (BookingState.CONFIRMED, BookingState.WAITLISTED)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (START - timedelta(days=8), "BOOKING_NOT_OPEN"),
        (START - timedelta(minutes=29), "BOOKING_CLOSED"),
        (START, "CLASS_STARTED"),
    ],
)
def test_booking_only_inside_the_window(now: datetime, expected: str) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        check_can_book(a_class(), POLICY, now, already_booked=False, active_bookings=0)
    assert reason(refused) == expected


def test_one_booking_per_class_and_a_cap_on_upcoming_ones() -> None:
    now = START - timedelta(days=1)
    with pytest.raises(AlreadyExists):
        check_can_book(a_class(), POLICY, now, already_booked=True, active_bookings=0)
    with pytest.raises(FailedPrecondition) as refused:
        check_can_book(a_class(), POLICY, now, already_booked=False, active_bookings=3)
    assert reason(refused) == "TOO_MANY_BOOKINGS"


@given(minutes_before=st.integers(min_value=-60, max_value=20 * 24 * 60))
def test_the_booking_window_is_exactly_the_policy(minutes_before: int) -> None:
    now = START - timedelta(minutes=minutes_before)
    opens = START - timedelta(days=POLICY.booking_window_days)
    closes = START - timedelta(minutes=POLICY.booking_cutoff_minutes)
    try:
        check_can_book(a_class(), POLICY, now, already_booked=False, active_bookings=0)
        allowed = True
    except FailedPrecondition:
        allowed = False
    assert allowed == (opens <= now <= closes)


@given(minutes_before=st.integers(min_value=1, max_value=5 * 24 * 60))
def test_only_a_confirmed_spot_given_up_late_is_a_late_cancel(minutes_before: int) -> None:
    now = START - timedelta(minutes=minutes_before)
    late = now > START - timedelta(hours=POLICY.late_cancel_hours)
    confirmed = cancellation_state(a_booking(BookingState.CONFIRMED), POLICY, now)
    waitlisted = cancellation_state(a_booking(BookingState.WAITLISTED), POLICY, now)
    assert confirmed is (BookingState.LATE_CANCELLED if late else BookingState.CANCELLED)
    assert waitlisted is BookingState.CANCELLED


def test_cancelled_bookings_and_started_classes_cannot_be_cancelled() -> None:
    with pytest.raises(FailedPrecondition):
        cancellation_state(a_booking(BookingState.CANCELLED), POLICY, START - timedelta(days=1))
    with pytest.raises(FailedPrecondition):
        cancellation_state(a_booking(BookingState.CONFIRMED), POLICY, START)


def test_waitlist_promotion_stops_when_booking_closes() -> None:
    assert promotion_open(a_class(), POLICY, START - timedelta(minutes=30))
    assert not promotion_open(a_class(), POLICY, START - timedelta(minutes=29))


def test_a_class_takes_the_room_capacity_and_never_more() -> None:
    room = validate_room("olaya", "Studio A", 20)
    yoga = validate_class_type("olaya", "Yoga", "يوغا", 60, "beginner", ("Calm", " "))
    now = START - timedelta(days=1)
    session = schedule_class(yoga, room, "", START, 0, now)
    assert (session.capacity, session.end) == (20, START + timedelta(minutes=60))
    assert yoga.tags == ("calm",)
    with pytest.raises(InvalidArgument):
        schedule_class(yoga, room, "", START, 21, now)
    with pytest.raises(InvalidArgument):
        schedule_class(yoga, room, "", now - timedelta(minutes=1), 0, now)


def test_studio_rules() -> None:
    with pytest.raises(InvalidArgument) as refused:
        validate_studio("Olaya!", "", "Mars/Base", BookingPolicy(booking_window_days=0))
    assert {v.field for v in refused.value.violations} == {
        "studio_id",
        "studio.display_name",
        "studio.time_zone",
        "studio.booking_policy.booking_window_days",
    }


def test_spots_are_chosen_or_handed_out_in_map_order() -> None:
    spots = ("A1", "A2", "B1")
    assert choose_spot(spots, {"A1"}, None) == "A2"
    assert choose_spot(spots, set(), "B1") == "B1"
    assert choose_spot((), set(), None) is None
    with pytest.raises(FailedPrecondition, match="SPOT_TAKEN"):
        choose_spot(spots, {"B1"}, "B1")
    with pytest.raises(InvalidArgument):
        choose_spot(spots, set(), "C9")
    with pytest.raises(InvalidArgument):
        choose_spot((), set(), "A1")


def test_a_spot_map_sets_the_capacity() -> None:
    assert validate_room("olaya", "Bikes", 0, ("1", "2")).capacity == 2
    with pytest.raises(InvalidArgument):
        validate_room("olaya", "Bikes", 5, ("1", "2"))
    with pytest.raises(InvalidArgument):
        validate_room("olaya", "Bikes", 0, ("1", "1"))
