"""Check-in codes, checking in, rosters, and marking no-shows after class."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from stride.platform.auth import require_role_in_studio, require_self_or_role
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FailedPrecondition, NotFound
from stride.scheduling.domain.check_in import check_in_open, issue_code, read_code
from stride.scheduling.domain.model import Booking, BookingState, ClassSession
from stride.scheduling.service_layer.common import BOOKING_CANCELLED, announce, class_session
from stride.scheduling.service_layer.handlers import DESK
from stride.scheduling.service_layer.unit_of_work import SchedulingUnitOfWork

CHECKED_IN = "scheduling.attendance.checked_in.v1"
NO_SHOW = "scheduling.attendance.no_show.v1"
CHECK_IN_KEY_PURPOSE = "stride.scheduling.check-in-codes.v1"


def _closed() -> FailedPrecondition:
    return FailedPrecondition("CHECK_IN_CLOSED", "check_in.closed")


async def check_in_code(
    uow: SchedulingUnitOfWork,
    key: bytes,
    member_id: uuid.UUID,
    booking_id: uuid.UUID,
    clock: Clock = utcnow,
) -> tuple[str, datetime]:
    require_self_or_role(str(member_id), "admin")
    async with uow:
        booking = await _own_booking(uow, member_id, booking_id)
        session = await class_session(uow, booking.studio, booking.session_id)
    now = clock()
    if booking.state is not BookingState.CONFIRMED:
        raise FailedPrecondition("BOOKING_NOT_CONFIRMED", "check_in.not_confirmed")
    if not check_in_open(session, now):
        raise _closed()
    return issue_code(key, booking.id, now)


async def check_in(
    uow: SchedulingUnitOfWork, key: bytes, studio: str, code: str, clock: Clock = utcnow
) -> tuple[Booking, ClassSession]:
    """Idempotent: scanning an attended booking's code again returns the first check-in."""
    require_role_in_studio(f"studios/{studio}", *DESK)
    now = clock()
    booking_id = read_code(key, code, now)
    async with uow:
        booking = await uow.bookings.get(booking_id, lock=True)
        if booking is None:
            raise NotFound("BOOKING_NOT_FOUND", "booking.not_found")
        if booking.studio != studio:
            raise FailedPrecondition("OTHER_STUDIO", "check_in.other_studio")
        session = await class_session(uow, studio, booking.session_id)
        if booking.state is BookingState.ATTENDED:
            return booking, session
        if booking.state is not BookingState.CONFIRMED:
            raise FailedPrecondition("BOOKING_NOT_CONFIRMED", "check_in.not_confirmed")
        if not check_in_open(session, now):
            raise _closed()
        await uow.bookings.mark_attended(booking.id, now)
        attended = replace(booking, state=BookingState.ATTENDED, checked_in_at=now)
        announce(uow, CHECKED_IN, attended)
        await uow.commit()
    return attended, session


async def roster(uow: SchedulingUnitOfWork, studio: str, session_id: uuid.UUID) -> list[Booking]:
    require_role_in_studio(f"studios/{studio}", *DESK)
    async with uow:
        await class_session(uow, studio, session_id)
        return await uow.bookings.roster(session_id)


async def settle_ended_classes(uow: SchedulingUnitOfWork, now: datetime, batch: int = 500) -> int:
    """After a class ends, spots never checked into become no-shows (the credit stays spent; a
    fee may follow) and waitlist places that never got a spot end (`booking.cancelled`: Billing
    gives the credit back). Run by the service on a timer (no caller to authorize); safe on
    every replica at once."""
    async with uow:
        missed = await uow.bookings.claim_after_class(BookingState.CONFIRMED, now, batch)
        for booking in missed:
            await uow.bookings.set_state(booking.id, BookingState.NO_SHOW, now)
            announce(uow, NO_SHOW, replace(booking, state=BookingState.NO_SHOW))
        unserved = await uow.bookings.claim_after_class(BookingState.WAITLISTED, now, batch)
        for booking in unserved:
            await uow.bookings.set_state(booking.id, BookingState.CANCELLED, now)
            await uow.classes.change_counts(booking.session_id, waitlisted=-1)
            ended = replace(booking, state=BookingState.CANCELLED, waitlist_position=0)
            announce(uow, BOOKING_CANCELLED, ended, reason="waitlist_expired")
        await uow.commit()
    return len(missed) + len(unserved)


async def _own_booking(
    uow: SchedulingUnitOfWork, member_id: uuid.UUID, booking_id: uuid.UUID
) -> Booking:
    booking = await uow.bookings.get(booking_id)
    if booking is None or booking.member_id != member_id:
        raise NotFound("BOOKING_NOT_FOUND", "booking.not_found")
    return booking
