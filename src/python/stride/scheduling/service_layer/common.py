"""What Scheduling's use cases share: the events they announce and loading a class."""

from __future__ import annotations

import uuid

from stride.platform.errors import NotFound
from stride.scheduling.domain.model import Booking, ClassSession
from stride.scheduling.events.v1 import events_pb2
from stride.scheduling.service_layer.unit_of_work import SchedulingUnitOfWork

BOOKING_CONFIRMED = "scheduling.booking.confirmed.v1"
BOOKING_CANCELLED = "scheduling.booking.cancelled.v1"
BOOKING_LATE_CANCELLED = "scheduling.booking.late_cancelled.v1"
WAITLIST_JOINED = "scheduling.waitlist.joined.v1"
WAITLIST_PROMOTED = "scheduling.waitlist.promoted.v1"
CLASS_CANCELLED = "scheduling.class.cancelled.v1"
CLASS_RESCHEDULED = "scheduling.class.rescheduled.v1"


def announce(
    uow: SchedulingUnitOfWork, event_type: str, booking: Booking, reason: str = ""
) -> None:
    event = events_pb2.BookingChanged(
        booking=booking.resource_name,
        member=f"users/{booking.member_id}",
        class_session=booking.session_name,
        waitlist_position=booking.waitlist_position,
        reason=reason,
    )
    event.class_start_time.FromDatetime(booking.class_start)
    uow.publish(event_type, subject=booking.resource_name, payload=event)


async def class_session(
    uow: SchedulingUnitOfWork, slug: str, session_id: uuid.UUID, *, lock: bool = False
) -> ClassSession:
    session = await uow.classes.get(slug, session_id, lock=lock)
    if session is None:
        raise NotFound("CLASS_NOT_FOUND", "class.not_found")
    return session


async def spots_of(
    uow: SchedulingUnitOfWork, session: ClassSession
) -> tuple[tuple[str, ...], set[str]]:
    """The spots of the class's room (none without a spot map), and those already held."""
    room = await uow.studios.room(session.studio, session.room_id)
    assert room is not None  # noqa: S101 - a class's room is never deleted.
    return room.spots, await uow.bookings.taken_spots(session.id)
