"""Studios, rooms, classes and bookings: the rules, free of storage and transport."""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from stride.platform.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
)
from stride.platform.time_zones import is_time_zone

STUDIO_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
LEVELS = ("all", "beginner", "intermediate", "advanced")
MAX_ROOM_CAPACITY = 500
_BOOKINGS = uuid.UUID("cd003dce-abd6-4336-b7e1-256d04175a09")


@dataclass(frozen=True)
class BookingPolicy:
    booking_window_days: int = 7
    booking_cutoff_minutes: int = 0
    late_cancel_hours: int = 12
    max_active_bookings: int = 10


@dataclass(frozen=True)
class Studio:
    slug: str
    display_name: str
    time_zone: str
    policy: BookingPolicy = field(default_factory=BookingPolicy)

    @property
    def resource_name(self) -> str:
        return f"studios/{self.slug}"


@dataclass(frozen=True)
class Room:
    id: uuid.UUID
    studio: str  # slug
    display_name: str
    capacity: int
    spots: tuple[str, ...] = ()  # The spot map, in the order free spots are handed out.

    @property
    def resource_name(self) -> str:
        return f"studios/{self.studio}/rooms/{self.id}"


@dataclass(frozen=True)
class ClassType:
    id: uuid.UUID
    studio: str
    display_name_en: str
    display_name_ar: str
    duration_minutes: int
    level: str = "all"
    tags: tuple[str, ...] = ()

    @property
    def resource_name(self) -> str:
        return f"studios/{self.studio}/classTypes/{self.id}"


@dataclass(frozen=True)
class ClassSession:
    id: uuid.UUID
    studio: str
    class_type_id: uuid.UUID
    room_id: uuid.UUID
    instructor: str  # `users/{id}` or empty.
    start: datetime
    end: datetime
    capacity: int
    confirmed_count: int = 0
    waitlist_count: int = 0
    cancelled_at: datetime | None = None

    @property
    def resource_name(self) -> str:
        return f"studios/{self.studio}/classSessions/{self.id}"

    @property
    def has_free_spot(self) -> bool:
        return self.confirmed_count < self.capacity

    @property
    def free_spots(self) -> int:
        """Spots no confirmed booking holds; none in a cancelled class."""
        return 0 if self.cancelled_at is not None else max(self.capacity - self.confirmed_count, 0)


class BookingState(enum.Enum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    LATE_CANCELLED = "late_cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"

    @property
    def active(self) -> bool:
        return self in (BookingState.CONFIRMED, BookingState.WAITLISTED)


@dataclass(frozen=True)
class Booking:
    id: uuid.UUID
    member_id: uuid.UUID
    session_id: uuid.UUID
    studio: str
    state: BookingState
    created_at: datetime
    class_start: datetime
    waitlist_position: int = 0  # 1 is next in line; 0 unless waitlisted.
    checked_in_at: datetime | None = None
    spot: str | None = None

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/bookings/{self.id}"

    @property
    def session_name(self) -> str:
        return f"studios/{self.studio}/classSessions/{self.session_id}"


def booking_id(member_id: uuid.UUID, request_id: str, request: str) -> uuid.UUID:
    """A member's request id names one booking, and so Billing's one hold for it: a retry of
    the same request after a failure between holding and booking reuses the hold. `request`
    says what was asked (a digest of the request), so a request id reused for another booking
    names another one and never shares the first one's hold. Without a request id every
    request is a booking of its own."""
    if not request_id:
        return uuid.uuid4()
    return uuid.uuid5(_BOOKINGS, f"{member_id}/{request_id}/{request}")


def validate_studio(slug: str, display_name: str, time_zone: str, policy: BookingPolicy) -> Studio:
    violations = []
    if not STUDIO_SLUG.match(slug):
        violations.append(FieldViolation("studio_id", "studio.invalid_slug"))
    if not display_name.strip():
        violations.append(FieldViolation("studio.display_name", "field.required"))
    if not is_time_zone(time_zone):
        violations.append(FieldViolation("studio.time_zone", "field.invalid_time_zone"))
    for name, value, low, high in (
        ("booking_window_days", policy.booking_window_days, 1, 90),
        ("booking_cutoff_minutes", policy.booking_cutoff_minutes, 0, 24 * 60),
        ("late_cancel_hours", policy.late_cancel_hours, 0, 7 * 24),
        ("max_active_bookings", policy.max_active_bookings, 1, 100),
    ):
        if not low <= value <= high:
            violations.append(
                FieldViolation(
                    f"studio.booking_policy.{name}", "field.out_of_range", {"min": low, "max": high}
                )
            )
    if violations:
        raise InvalidArgument(violations)
    return Studio(slug, display_name.strip(), time_zone, policy)


def validate_room(
    studio: str, display_name: str, capacity: int, spots: tuple[str, ...] = ()
) -> Room:
    """With a spot map, the capacity is its size."""
    violations = []
    if not display_name.strip():
        violations.append(FieldViolation("room.display_name", "field.required"))
    labels = tuple(label.strip() for label in spots)
    if spots:
        if len(set(labels)) != len(labels) or not all(0 < len(label) <= 16 for label in labels):
            violations.append(FieldViolation("room.spots", "room.invalid_spots"))
        if capacity and capacity != len(labels):
            violations.append(FieldViolation("room.capacity", "room.capacity_is_spot_count"))
        capacity = len(labels)
    if not 1 <= capacity <= MAX_ROOM_CAPACITY:
        violations.append(
            FieldViolation(
                "room.capacity", "field.out_of_range", {"min": 1, "max": MAX_ROOM_CAPACITY}
            )
        )
    if violations:
        raise InvalidArgument(violations)
    return Room(uuid.uuid4(), studio, display_name.strip(), capacity, labels)


def validate_class_type(
    studio: str,
    display_name_en: str,
    display_name_ar: str,
    duration_minutes: int,
    level: str,
    tags: tuple[str, ...],
) -> ClassType:
    violations = [
        FieldViolation(f"class_type.{name}", "field.required")
        for name, value in (
            ("display_name_en", display_name_en),
            ("display_name_ar", display_name_ar),
        )
        if not value.strip()
    ]
    if not 5 <= duration_minutes <= 300:
        violations.append(
            FieldViolation(
                "class_type.duration_minutes", "field.out_of_range", {"min": 5, "max": 300}
            )
        )
    if level not in LEVELS:
        violations.append(
            FieldViolation(
                "class_type.level", "field.invalid_choice", {"choices": ", ".join(LEVELS)}
            )
        )
    if violations:
        raise InvalidArgument(violations)
    return ClassType(
        uuid.uuid4(),
        studio,
        display_name_en.strip(),
        display_name_ar.strip(),
        duration_minutes,
        level,
        tuple(tag.strip().lower() for tag in tags if tag.strip()),
    )


def schedule_class(
    class_type: ClassType,
    room: Room,
    instructor: str,
    start: datetime,
    capacity: int,
    now: datetime,
) -> ClassSession:
    """A new class of `class_type` in `room`; capacity defaults to, and never exceeds, the
    room's."""
    violations = []
    if start <= now:
        violations.append(FieldViolation("class_session.start_time", "class.start_in_past"))
    if capacity < 0 or capacity > room.capacity:
        violations.append(
            FieldViolation(
                "class_session.capacity", "field.out_of_range", {"min": 1, "max": room.capacity}
            )
        )
    if violations:
        raise InvalidArgument(violations)
    return ClassSession(
        id=uuid.uuid4(),
        studio=room.studio,
        class_type_id=class_type.id,
        room_id=room.id,
        instructor=instructor,
        start=start,
        end=start + timedelta(minutes=class_type.duration_minutes),
        capacity=capacity or room.capacity,
    )


def check_can_book(
    session: ClassSession,
    policy: BookingPolicy,
    now: datetime,
    *,
    already_booked: bool,
    active_bookings: int,
) -> BookingState:
    """Whether the member may book now, and whether they get a spot or join the waitlist."""
    if session.cancelled_at is not None:
        raise FailedPrecondition("CLASS_CANCELLED", "class.cancelled")
    if now >= session.start:
        raise FailedPrecondition("CLASS_STARTED", "booking.class_started")
    if now < session.start - timedelta(days=policy.booking_window_days):
        raise FailedPrecondition(
            "BOOKING_NOT_OPEN", "booking.not_open", params={"days": policy.booking_window_days}
        )
    if now > session.start - timedelta(minutes=policy.booking_cutoff_minutes):
        raise FailedPrecondition("BOOKING_CLOSED", "booking.closed")
    if already_booked:
        raise AlreadyExists("ALREADY_BOOKED", "booking.already_booked")
    if active_bookings >= policy.max_active_bookings:
        raise FailedPrecondition(
            "TOO_MANY_BOOKINGS",
            "booking.too_many",
            params={"max": policy.max_active_bookings},
        )
    return BookingState.CONFIRMED if session.has_free_spot else BookingState.WAITLISTED


def cancellation_state(booking: Booking, policy: BookingPolicy, now: datetime) -> BookingState:
    """CANCELLED, or LATE_CANCELLED for a confirmed spot given up inside the late window."""
    if not booking.state.active:
        raise FailedPrecondition("BOOKING_NOT_ACTIVE", "booking.not_active")
    if now >= booking.class_start:
        raise FailedPrecondition("CLASS_STARTED", "booking.class_started")
    late = now > booking.class_start - timedelta(hours=policy.late_cancel_hours)
    if booking.state is BookingState.CONFIRMED and late:
        return BookingState.LATE_CANCELLED
    return BookingState.CANCELLED


def promotion_open(session: ClassSession, policy: BookingPolicy, now: datetime) -> bool:
    """A freed spot goes to the waitlist until booking closes; after that it stays free."""
    return now <= session.start - timedelta(minutes=policy.booking_cutoff_minutes)


def check_can_change(session: ClassSession, now: datetime) -> None:
    """Staff may cancel or move a class until it starts, and not once it is cancelled."""
    if session.cancelled_at is not None:
        raise FailedPrecondition("CLASS_CANCELLED", "class.cancelled")
    if now >= session.start:
        raise FailedPrecondition("CLASS_STARTED", "booking.class_started")


def rescheduled(session: ClassSession, start: datetime, now: datetime) -> ClassSession:
    check_can_change(session, now)
    if start <= now:
        raise InvalidArgument([FieldViolation("start_time", "class.start_in_past")])
    return replace(session, start=start, end=start + (session.end - session.start))


def resized(session: ClassSession, room: Room, capacity: int, now: datetime) -> ClassSession:
    check_can_change(session, now)
    if not 1 <= capacity <= room.capacity:
        raise InvalidArgument(
            [
                FieldViolation(
                    "class_session.capacity", "field.out_of_range", {"min": 1, "max": room.capacity}
                )
            ]
        )
    if capacity < session.confirmed_count:
        raise FailedPrecondition(
            "CAPACITY_BELOW_BOOKINGS",
            "class.capacity_below_bookings",
            params={"booked": session.confirmed_count},
        )
    return replace(session, capacity=capacity)


def choose_spot(spots: tuple[str, ...], taken: set[str], wanted: str | None) -> str | None:
    """The spot a confirmed booking holds: the one wanted if free, else the first free one;
    None in a room without a spot map."""
    if not spots:
        if wanted:
            raise InvalidArgument([FieldViolation("booking.spot", "spot.no_map")])
        return None
    if wanted:
        if wanted not in spots:
            raise InvalidArgument([FieldViolation("booking.spot", "spot.unknown")])
        if wanted in taken:
            raise FailedPrecondition("SPOT_TAKEN", "spot.taken", params={"spot": wanted})
        return wanted
    return next(spot for spot in spots if spot not in taken)
