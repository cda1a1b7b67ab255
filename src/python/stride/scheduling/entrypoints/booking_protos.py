"""Bookings, rosters, attendance and live booking updates between protobuf and the domain."""

from __future__ import annotations

from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.grpc.timestamps import timestamp
from stride.scheduling.domain.model import Booking, BookingState, ClassSession
from stride.scheduling.events.v1.events_pb2 import BookingChanged
from stride.scheduling.v1 import scheduling_service_pb2 as pb

_STATES = {
    BookingState.CONFIRMED: pb.Booking.STATE_CONFIRMED,
    BookingState.WAITLISTED: pb.Booking.STATE_WAITLISTED,
    BookingState.CANCELLED: pb.Booking.STATE_CANCELLED,
    BookingState.LATE_CANCELLED: pb.Booking.STATE_LATE_CANCELLED,
    BookingState.ATTENDED: pb.Booking.STATE_ATTENDED,
    BookingState.NO_SHOW: pb.Booking.STATE_NO_SHOW,
}
# Event type → what the member's app is told happened, and the booking's state after it.
_UPDATES = {
    "scheduling.booking.confirmed.v1": ("booking.confirmed", pb.Booking.STATE_CONFIRMED),
    "scheduling.waitlist.joined.v1": ("waitlist.joined", pb.Booking.STATE_WAITLISTED),
    "scheduling.waitlist.promoted.v1": ("waitlist.promoted", pb.Booking.STATE_CONFIRMED),
    "scheduling.booking.cancelled.v1": ("booking.cancelled", pb.Booking.STATE_CANCELLED),
    "scheduling.booking.late_cancelled.v1": (
        "booking.late_cancelled",
        pb.Booking.STATE_LATE_CANCELLED,
    ),
    "scheduling.attendance.checked_in.v1": ("attendance.checked_in", pb.Booking.STATE_ATTENDED),
    "scheduling.attendance.no_show.v1": ("attendance.no_show", pb.Booking.STATE_NO_SHOW),
}


def booking_to_proto(booking: Booking) -> pb.Booking:
    return pb.Booking(
        name=booking.resource_name,
        class_session=booking.session_name,
        state=_STATES[booking.state],
        waitlist_position=booking.waitlist_position,
        create_time=timestamp(booking.created_at),
        class_start_time=timestamp(booking.class_start),
        spot=booking.spot or "",
    )


def roster_entry(booking: Booking) -> pb.RosterEntry:
    entry = pb.RosterEntry(
        booking=booking.resource_name,
        member=f"users/{booking.member_id}",
        state=_STATES[booking.state],
        waitlist_position=booking.waitlist_position,
        spot=booking.spot or "",
    )
    if booking.checked_in_at is not None:
        entry.check_in_time.CopyFrom(timestamp(booking.checked_in_at))
    return entry


def attendance_to_proto(booking: Booking, session: ClassSession) -> pb.Attendance:
    assert booking.checked_in_at is not None  # noqa: S101 - an attended booking has it.
    return pb.Attendance(
        booking=booking.resource_name,
        member=f"users/{booking.member_id}",
        class_session=session.resource_name,
        check_in_time=timestamp(booking.checked_in_at),
    )


def booking_update(envelope: Envelope, member: str) -> pb.BookingUpdate | None:
    """The update for `member` that an event carries, if it is about one of their bookings."""
    update = _UPDATES.get(envelope.type)
    if update is None:
        return None
    changed = BookingChanged()
    if not envelope.data.Unpack(changed) or changed.member != member:
        return None
    change, state = update
    return pb.BookingUpdate(
        change=change,
        booking=pb.Booking(
            name=changed.booking,
            class_session=changed.class_session,
            state=state,
            waitlist_position=changed.waitlist_position,
            class_start_time=changed.class_start_time,
        ),
    )
