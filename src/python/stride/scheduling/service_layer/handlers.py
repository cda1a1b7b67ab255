"""Scheduling's use cases."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Generic

from stride.platform.auth import (
    current_principal,
    require_role,
    require_role_in_studio,
    require_self_or_role,
)
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import (
    Aborted,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from stride.platform.filtering import Comparison, Operator
from stride.platform.idempotency import RecordedRequest, lookup
from stride.scheduling.domain.availability import AVAILABILITY_PARTS, Availability, check_teaches
from stride.scheduling.domain.calendar import CalendarEntry, render_calendar
from stride.scheduling.domain.model import (
    Booking,
    BookingPolicy,
    BookingState,
    ClassSession,
    ClassType,
    Room,
    Studio,
    cancellation_state,
    check_can_book,
    check_can_change,
    choose_spot,
    promotion_open,
    rescheduled,
    resized,
    schedule_class,
    validate_class_type,
    validate_room,
    validate_studio,
)
from stride.scheduling.domain.recurrence import occurrences, parse_local_start
from stride.scheduling.events.v1 import events_pb2
from stride.scheduling.service_layer.booking_decisions import (
    BookingDecisions,
    BookingRequest,
    Response,
)
from stride.scheduling.service_layer.common import (
    BOOKING_CANCELLED,
    BOOKING_CONFIRMED,
    BOOKING_LATE_CANCELLED,
    CLASS_CANCELLED,
    CLASS_RESCHEDULED,
    WAITLIST_PROMOTED,
    announce,
    class_session,
    spots_of,
)
from stride.scheduling.service_layer.ports import Entitlements
from stride.scheduling.service_layer.unit_of_work import SchedulingUnitOfWork

STAFF = ("manager",)
DESK = ("front_desk", "instructor", "manager")
MAX_WEEKS_AHEAD = 26
_FROM_BELOW = frozenset({Operator.EQUAL, Operator.GREATER, Operator.GREATER_OR_EQUAL})


async def create_studio(
    uow: SchedulingUnitOfWork, slug: str, display_name: str, time_zone: str, policy: BookingPolicy
) -> Studio:
    require_role("admin")
    studio = validate_studio(slug, display_name, time_zone, policy)
    async with uow:
        await uow.studios.add_studio(studio)
        await uow.commit()
    return studio


async def get_studio(uow: SchedulingUnitOfWork, slug: str) -> Studio:
    current_principal()
    async with uow:
        return await _studio(uow, slug)


async def create_room(
    uow: SchedulingUnitOfWork,
    slug: str,
    display_name: str,
    capacity: int,
    spots: tuple[str, ...] = (),
) -> Room:
    require_role_in_studio(f"studios/{slug}", *STAFF)
    room = validate_room(slug, display_name, capacity, spots)
    async with uow:
        await _studio(uow, slug)
        await uow.studios.add_room(room)
        await uow.commit()
    return room


async def create_class_type(
    uow: SchedulingUnitOfWork,
    slug: str,
    display_name_en: str,
    display_name_ar: str,
    duration_minutes: int,
    level: str,
    tags: tuple[str, ...],
) -> ClassType:
    require_role_in_studio(f"studios/{slug}", *STAFF)
    class_type = validate_class_type(
        slug, display_name_en, display_name_ar, duration_minutes, level, tags
    )
    async with uow:
        await _studio(uow, slug)
        await uow.studios.add_class_type(class_type)
        await uow.commit()
    return class_type


async def create_class(
    uow: SchedulingUnitOfWork,
    slug: str,
    class_type_id: uuid.UUID,
    room_id: uuid.UUID,
    instructor: str,
    start: datetime,
    capacity: int,
    clock: Clock = utcnow,
) -> ClassSession:
    require_role_in_studio(f"studios/{slug}", *STAFF)
    async with uow:
        class_type = await uow.studios.class_type(slug, class_type_id)
        room = await uow.studios.room(slug, room_id)
        if class_type is None:
            raise NotFound("CLASS_TYPE_NOT_FOUND", "class_type.not_found")
        if room is None:
            raise NotFound("ROOM_NOT_FOUND", "room.not_found")
        session = schedule_class(class_type, room, instructor, start, capacity, clock())
        await _check_instructor(uow, await _studio(uow, slug), session)
        await uow.classes.add(session)
        await uow.commit()
    return session


async def create_schedule(
    uow: SchedulingUnitOfWork,
    slug: str,
    class_type_id: uuid.UUID,
    room_id: uuid.UUID,
    instructor: str,
    capacity: int,
    recurrence: str,
    first_start: str,
    weeks_ahead: int,
    clock: Clock = utcnow,
) -> list[ClassSession]:
    """Every occurrence as its own class, created in one transaction (all or none)."""
    require_role_in_studio(f"studios/{slug}", *STAFF)
    if not 1 <= weeks_ahead <= MAX_WEEKS_AHEAD:
        raise InvalidArgument(
            [
                FieldViolation(
                    "weeks_ahead", "field.out_of_range", {"min": 1, "max": MAX_WEEKS_AHEAD}
                )
            ]
        )
    now = clock()
    async with uow:
        studio = await _studio(uow, slug)
        class_type = await uow.studios.class_type(slug, class_type_id)
        room = await uow.studios.room(slug, room_id)
        if class_type is None:
            raise NotFound("CLASS_TYPE_NOT_FOUND", "class_type.not_found")
        if room is None:
            raise NotFound("ROOM_NOT_FOUND", "room.not_found")
        starts = occurrences(
            recurrence,
            parse_local_start(first_start),
            studio.time_zone,
            now + timedelta(weeks=weeks_ahead),
        )
        sessions = [
            schedule_class(class_type, room, instructor, start, capacity, now)
            for start in starts
            if start > now
        ]
        for session in sessions:
            await _check_instructor(uow, studio, session)
            await uow.classes.add(session)
        await uow.commit()
    return sessions


async def set_availability(
    uow: SchedulingUnitOfWork,
    slug: str,
    instructor_id: uuid.UUID,
    availability: Availability,
    parts: Collection[str] = AVAILABILITY_PARTS,
) -> Availability:
    """Replaces the `parts` of an instructor's availability with `availability`'s, keeping the
    others as stored. The studio's managers set it, or the instructor their own."""
    if current_principal().user_id != str(instructor_id):
        require_role_in_studio(f"studios/{slug}", *STAFF)
    async with uow:
        await _studio(uow, slug)
        stored = await uow.availability.locked(slug, instructor_id)
        updated = stored.with_parts_of(availability, parts)
        await uow.availability.put(slug, instructor_id, updated)
        await uow.commit()
    return updated


async def get_availability(
    uow: SchedulingUnitOfWork, slug: str, instructor_id: uuid.UUID
) -> Availability:
    if current_principal().user_id != str(instructor_id):
        require_role_in_studio(f"studios/{slug}", *DESK)
    async with uow:
        found = await uow.availability.get(slug, instructor_id)
    return found or Availability({}, {})


async def _check_instructor(
    uow: SchedulingUnitOfWork, studio: Studio, session: ClassSession
) -> None:
    """An instructor teaches inside their hours, one class at a time."""
    if not session.instructor:
        return
    instructor_id = uuid.UUID(session.instructor.removeprefix("users/"))
    availability = await uow.availability.get(studio.slug, instructor_id)
    check_teaches(availability, studio.time_zone, session.start, session.end)
    if await uow.classes.instructor_busy(
        session.instructor, session.start, session.end, other_than=session.id
    ):
        raise FailedPrecondition("INSTRUCTOR_BUSY", "instructor.busy")


async def get_class(uow: SchedulingUnitOfWork, slug: str, session_id: uuid.UUID) -> ClassSession:
    current_principal()
    async with uow:
        return await class_session(uow, slug, session_id)


async def list_classes(
    uow: SchedulingUnitOfWork,
    slug: str,
    where: Sequence[Comparison],
    offset: int,
    limit: int,
    clock: Clock = utcnow,
) -> list[ClassSession]:
    """The studio's classes meeting every comparison (of the fields entrypoints/class_protos'
    CLASS_FILTER declares, with the domain's values), by start time: those that have not
    started unless `where` bounds the start from below."""
    current_principal()
    if not any(c.field == "start_time" and c.operator in _FROM_BELOW for c in where):
        where = [*where, Comparison("start_time", Operator.GREATER_OR_EQUAL, clock())]
    async with uow:
        await _studio(uow, slug)
        return await uow.classes.list(slug, where, offset=offset, limit=limit)


@dataclass(frozen=True)
class BookClass(Generic[Response]):
    """A member's booking for a class: `booking_id` follows from the member and the request
    (so a retry names the same booking), `request` is the request id's record, if any, and
    `respond` makes the answer stored under it."""

    member_id: uuid.UUID
    studio: str
    session_id: uuid.UUID
    booking_id: uuid.UUID
    request: RecordedRequest | None
    respond: Callable[[Booking], Response]
    spot: str | None = None


async def book(
    uow: SchedulingUnitOfWork,
    entitlements: Entitlements,
    decisions: BookingDecisions[Response],
    command: BookClass[Response],
    clock: Clock = utcnow,
) -> Response:
    """Books a class. One short transaction reads what an earlier attempt with the request id
    answered, the class and any booking already made under this id; the cheap refusals
    (window, cancelled class) come before Billing is asked; the member's credit is then held
    with Billing with no transaction open, so a slow Billing pins no connection and no lock;
    then the booking is confirmed or waitlisted under the class's lock (ADR 0006), decided
    together with the others waiting for the class, and its answer stored under the request
    id in the same transaction. A refused booking gives the credit back. A booking that
    already exists under this id is answered as it stands. A booking that failed otherwise
    keeps its hold: Billing holds once per booking id, so the retry of the same request
    reuses it, and Billing's reconciler gives back one never retried."""
    require_self_or_role(str(command.member_id), "admin")
    request = command.request
    async with uow:
        if request is not None:
            stored = await lookup(
                uow.session, request.method, request.request_id, request.fingerprint
            )
            if stored is not None:
                return decisions.parse(stored)
        studio = await _studio(uow, command.studio)
        unlocked = await class_session(uow, command.studio, command.session_id)
        made = await uow.bookings.get(command.booking_id)
    if made is not None:
        # A retry that outlived its request id's stored answer (ADR 0009) names the booking it
        # made: that booking, as it stands, is the answer. Holding for it again would hold a
        # second credit, or one for a cancelled booking, and a refusal would give back the
        # credit the booking holds.
        return await decisions.decide(
            BookingRequest(studio, made, command.spot, request, command.respond, made=True)
        )
    now = clock()
    held = Booking(
        command.booking_id,
        command.member_id,
        command.session_id,
        command.studio,
        BookingState.CONFIRMED,
        now,
        unlocked.start,
    )
    check_can_book(unlocked, studio.policy, now, already_booked=False, active_bookings=0)
    await entitlements.hold(held)
    try:
        return await decisions.decide(
            BookingRequest(studio, held, command.spot, request, command.respond)
        )
    except (Aborted, Unavailable):  # A concurrent attempt booked with this hold; or try again.
        raise
    except DomainError:
        await entitlements.release(held)
        raise


async def cancel(
    uow: SchedulingUnitOfWork, member_id: uuid.UUID, booking_id: uuid.UUID, clock: Clock = utcnow
) -> Booking:
    """Frees the spot and, while booking is open, hands it to the first on the waitlist — in
    the same transaction, so a spot is never free and wanted at the same time."""
    require_self_or_role(str(member_id), "admin")
    async with uow:
        found = await uow.bookings.get(booking_id)
        if found is None or found.member_id != member_id:
            raise NotFound("BOOKING_NOT_FOUND", "booking.not_found")
        # Lock order everywhere: the class, then its bookings.
        session = await class_session(uow, found.studio, found.session_id, lock=True)
        booking = await uow.bookings.get(booking_id, lock=True)
        assert booking is not None  # noqa: S101 - found above; bookings are never deleted.
        studio = await _studio(uow, booking.studio)
        now = clock()
        state = cancellation_state(booking, studio.policy, now)
        await uow.bookings.set_state(booking.id, state, now)
        cancelled = replace(booking, state=state, waitlist_position=0)
        if booking.state is BookingState.WAITLISTED:
            await uow.classes.change_counts(session.id, waitlisted=-1)
        else:
            await uow.classes.change_counts(session.id, confirmed=-1)
            if promotion_open(session, studio.policy, now):
                await _promote_first(uow, session, now)
        late = state is BookingState.LATE_CANCELLED
        announce(
            uow,
            BOOKING_LATE_CANCELLED if late else BOOKING_CANCELLED,
            cancelled,
            reason="late" if late else "member",
        )
        await uow.commit()
    return cancelled


async def update_class(
    uow: SchedulingUnitOfWork,
    slug: str,
    session_id: uuid.UUID,
    *,
    capacity: int | None,
    instructor: str | None,
    clock: Clock = utcnow,
) -> ClassSession:
    """New spots go to the waitlist in the same transaction, first in line first."""
    require_role_in_studio(f"studios/{slug}", *STAFF)
    now = clock()
    async with uow:
        session = await class_session(uow, slug, session_id, lock=True)
        check_can_change(session, now)
        changed = session
        if capacity is not None:
            room = await uow.studios.room(slug, session.room_id)
            assert room is not None  # noqa: S101 - a class's room is never deleted.
            changed = resized(changed, room, capacity, now)
        studio = await _studio(uow, slug)
        if instructor is not None:
            changed = replace(changed, instructor=instructor)
            await _check_instructor(uow, studio, changed)
        await uow.classes.update_details(changed)
        if promotion_open(changed, studio.policy, now):
            for _ in range(min(changed.capacity - changed.confirmed_count, changed.waitlist_count)):
                await _promote_first(uow, changed, now)
        await uow.commit()
        return await class_session(uow, slug, session_id)


async def cancel_class(
    uow: SchedulingUnitOfWork,
    slug: str,
    session_id: uuid.UUID,
    reason: str,
    clock: Clock = utcnow,
) -> ClassSession:
    """Ends every booking and waitlist place in one transaction; each gets its own
    `booking.cancelled` (Billing returns credits) and the class one `class.cancelled`
    (Notifications tells everyone)."""
    require_role_in_studio(f"studios/{slug}", *STAFF)
    now = clock()
    async with uow:
        session = await class_session(uow, slug, session_id, lock=True)
        check_can_change(session, now)
        affected = await uow.bookings.active_for_class(session.id)
        for booking in affected:
            await uow.bookings.set_state(booking.id, BookingState.CANCELLED, now)
            ended = replace(booking, state=BookingState.CANCELLED, waitlist_position=0)
            announce(uow, BOOKING_CANCELLED, ended, reason="class_cancelled")
        await uow.classes.cancel(session.id, now)
        _announce_class(uow, CLASS_CANCELLED, session, affected, reason=reason[:200])
        await uow.commit()
    return replace(session, cancelled_at=now, confirmed_count=0, waitlist_count=0)


async def reschedule_class(
    uow: SchedulingUnitOfWork,
    slug: str,
    session_id: uuid.UUID,
    start: datetime,
    clock: Clock = utcnow,
) -> ClassSession:
    require_role_in_studio(f"studios/{slug}", *STAFF)
    async with uow:
        session = await class_session(uow, slug, session_id, lock=True)
        moved = rescheduled(session, start, clock())
        await uow.classes.move(moved)
        affected = await uow.bookings.active_for_class(session.id)
        _announce_class(uow, CLASS_RESCHEDULED, moved, affected, previous_start=session.start)
        await uow.commit()
    return moved


def _announce_class(
    uow: SchedulingUnitOfWork,
    event_type: str,
    session: ClassSession,
    affected: list[Booking],
    *,
    reason: str = "",
    previous_start: datetime | None = None,
) -> None:
    event = events_pb2.ClassChanged(
        class_session=session.resource_name,
        reason=reason,
        members=sorted({f"users/{booking.member_id}" for booking in affected}),
    )
    event.start_time.FromDatetime(session.start)
    if previous_start is not None:
        event.previous_start_time.FromDatetime(previous_start)
    uow.publish(event_type, subject=session.resource_name, payload=event)


async def booking_calendar(
    uow: SchedulingUnitOfWork, member_id: uuid.UUID, language: str, clock: Clock = utcnow
) -> str:
    require_self_or_role(str(member_id), "admin")
    async with uow:
        rows = await uow.bookings.calendar(member_id)
    entries = [
        CalendarEntry(
            uid=f"{booking.id}@stride.app",
            summary=name_ar if language == "ar" else name_en,
            location=studio_name,
            start=session.start,
            end=session.end,
            cancelled=session.cancelled_at is not None,
        )
        for booking, session, name_en, name_ar, studio_name in rows
    ]
    return render_calendar(entries, clock())


def authorize_member(member_id: uuid.UUID) -> None:
    """Members see their own bookings; admins anyone's."""
    require_self_or_role(str(member_id), "admin")


async def list_bookings(
    uow: SchedulingUnitOfWork, member_id: uuid.UUID, offset: int, limit: int
) -> list[Booking]:
    require_self_or_role(str(member_id), "admin")
    async with uow:
        return await uow.bookings.list_for_member(member_id, offset=offset, limit=limit)


async def find_bookings(
    uow: SchedulingUnitOfWork, booking_ids: Collection[uuid.UUID]
) -> list[Booking]:
    """Those of the bookings that exist: Billing's question when it reconciles its holds (an
    internal RPC, authorized by Billing's service credential)."""
    async with uow:
        return await uow.bookings.existing(booking_ids)


async def _promote_first(uow: SchedulingUnitOfWork, session: ClassSession, now: datetime) -> None:
    first = await uow.bookings.first_waitlisted(session.id)
    if first is None:
        return
    spot = await _spot_for(uow, session, None)
    await uow.bookings.set_state(first.id, BookingState.CONFIRMED, now, spot=spot)
    await uow.classes.change_counts(session.id, confirmed=1, waitlisted=-1)
    promoted = replace(first, state=BookingState.CONFIRMED, waitlist_position=0, spot=spot)
    announce(uow, WAITLIST_PROMOTED, promoted)
    announce(uow, BOOKING_CONFIRMED, promoted)


async def _spot_for(
    uow: SchedulingUnitOfWork, session: ClassSession, wanted: str | None
) -> str | None:
    return choose_spot(*await spots_of(uow, session), wanted)


async def _studio(uow: SchedulingUnitOfWork, slug: str) -> Studio:
    studio = await uow.studios.studio(slug)
    if studio is None:
        raise NotFound("STUDIO_NOT_FOUND", "studio.not_found")
    return studio
