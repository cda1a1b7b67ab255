"""SchedulingService over gRPC: proto → use case → proto."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, time
from typing import Literal

import grpc
from google.api import httpbody_pb2
from google.protobuf import timestamp_pb2

from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.events.live import LiveEvents
from stride.platform.grpc.timestamps import timestamp
from stride.platform.i18n import current_locale
from stride.platform.idempotency import idempotent, replay
from stride.platform.pagination import Page
from stride.platform.resource_names import (
    parse_resource_name,
    parse_user_name,
    parse_uuid_ids,
)
from stride.scheduling import messages  # noqa: F401 - registers Scheduling's texts.
from stride.scheduling.domain.availability import Availability, validate_availability
from stride.scheduling.domain.model import (
    Booking,
    BookingPolicy,
    BookingState,
    ClassSession,
    ClassType,
    Room,
    Studio,
    booking_id,
)
from stride.scheduling.events.v1.events_pb2 import BookingChanged
from stride.scheduling.service_layer import attendance, handlers
from stride.scheduling.service_layer.ports import Entitlements
from stride.scheduling.service_layer.unit_of_work import SchedulingUnitOfWork
from stride.scheduling.v1 import scheduling_service_pb2 as pb
from stride.scheduling.v1 import scheduling_service_pb2_grpc as pb_grpc

CREATE_BOOKING_METHOD = "/stride.scheduling.v1.SchedulingService/CreateBooking"
_STATES = {
    BookingState.CONFIRMED: pb.Booking.STATE_CONFIRMED,
    BookingState.WAITLISTED: pb.Booking.STATE_WAITLISTED,
    BookingState.CANCELLED: pb.Booking.STATE_CANCELLED,
    BookingState.LATE_CANCELLED: pb.Booking.STATE_LATE_CANCELLED,
    BookingState.ATTENDED: pb.Booking.STATE_ATTENDED,
    BookingState.NO_SHOW: pb.Booking.STATE_NO_SHOW,
}


def _studio_slug(name: str, field: str) -> str:
    (slug,) = parse_resource_name(
        name, ("studios",), field=field, message_key="studio.invalid_name"
    )
    return slug


def _in_studio(name: str, collection: str, field: str, message_key: str) -> tuple[str, uuid.UUID]:
    slug, child = parse_resource_name(
        name, ("studios", collection), field=field, message_key=message_key
    )
    try:
        return slug, uuid.UUID(child)
    except ValueError:
        raise InvalidArgument([FieldViolation(field, message_key)]) from None


def _class_parts(slug: str, given: pb.ClassSession) -> tuple[uuid.UUID, uuid.UUID]:
    """The class type and room a new class names, both of the studio `slug`."""
    type_studio, class_type_id = _in_studio(
        given.class_type, "classTypes", "class_session.class_type", "class_type.invalid_name"
    )
    room_studio, room_id = _in_studio(
        given.room, "rooms", "class_session.room", "room.invalid_name"
    )
    violations = [
        FieldViolation(f"class_session.{field}", "field.other_studio")
        for field, owner in (("class_type", type_studio), ("room", room_studio))
        if owner != slug
    ]
    if violations:
        raise InvalidArgument(violations)
    if given.instructor:
        parse_user_name(given.instructor, "class_session.instructor")
    return class_type_id, room_id


def _availability_name(name: str, field: str) -> tuple[str, uuid.UUID]:
    """`studios/{studio}/instructors/{user}/availability` (a singleton) → (studio, user id)."""
    owner, _, singleton = name.rpartition("/")
    if singleton != "availability":
        raise InvalidArgument([FieldViolation(field, "instructor.invalid_name")])
    slug, instructor = parse_resource_name(
        owner, ("studios", "instructors"), field=field, message_key="instructor.invalid_name"
    )
    try:
        return slug, uuid.UUID(instructor)
    except ValueError:
        raise InvalidArgument([FieldViolation(field, "instructor.invalid_name")]) from None


def availability_to_proto(name: str, availability: Availability) -> pb.InstructorAvailability:
    def hhmm(moment: time) -> str:
        return moment.isoformat("minutes")

    return pb.InstructorAvailability(
        name=name,
        weekly=[
            pb.WeeklyWindow(day_of_week=day, start=hhmm(w.start), end=hhmm(w.end))
            for day, windows in sorted(availability.weekly.items())
            for w in windows
        ],
        exceptions=[
            pb.AvailabilityException(
                date=day.isoformat(),
                windows=[pb.TimeWindow(start=hhmm(w.start), end=hhmm(w.end)) for w in windows],
            )
            for day, windows in sorted(availability.exceptions.items())
        ],
    )


def studio_to_proto(studio: Studio) -> pb.Studio:
    policy = studio.policy
    return pb.Studio(
        name=studio.resource_name,
        display_name=studio.display_name,
        time_zone=studio.time_zone,
        booking_policy=pb.BookingPolicy(
            booking_window_days=policy.booking_window_days,
            booking_cutoff_minutes=policy.booking_cutoff_minutes,
            late_cancel_hours=policy.late_cancel_hours,
            max_active_bookings=policy.max_active_bookings,
        ),
    )


def room_to_proto(room: Room) -> pb.Room:
    return pb.Room(
        name=room.resource_name,
        display_name=room.display_name,
        capacity=room.capacity,
        spots=list(room.spots),
    )


def class_type_to_proto(class_type: ClassType) -> pb.ClassType:
    return pb.ClassType(
        name=class_type.resource_name,
        display_name_en=class_type.display_name_en,
        display_name_ar=class_type.display_name_ar,
        duration_minutes=class_type.duration_minutes,
        level=class_type.level,
        tags=list(class_type.tags),
    )


def class_to_proto(session: ClassSession) -> pb.ClassSession:
    proto = pb.ClassSession(
        name=session.resource_name,
        class_type=f"studios/{session.studio}/classTypes/{session.class_type_id}",
        room=f"studios/{session.studio}/rooms/{session.room_id}",
        instructor=session.instructor,
        start_time=timestamp(session.start),
        end_time=timestamp(session.end),
        capacity=session.capacity,
        confirmed_count=session.confirmed_count,
        waitlist_count=session.waitlist_count,
    )
    if session.cancelled_at is not None:
        proto.cancel_time.CopyFrom(timestamp(session.cancelled_at))
    return proto


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


def _policy(proto: pb.BookingPolicy) -> BookingPolicy:
    """Unset fields keep the defaults."""
    defaults = BookingPolicy()
    return BookingPolicy(
        booking_window_days=proto.booking_window_days or defaults.booking_window_days,
        booking_cutoff_minutes=proto.booking_cutoff_minutes or defaults.booking_cutoff_minutes,
        late_cancel_hours=proto.late_cancel_hours or defaults.late_cancel_hours,
        max_active_bookings=proto.max_active_bookings or defaults.max_active_bookings,
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


def _booking_ids(name: str) -> tuple[uuid.UUID, uuid.UUID]:
    member_id, booking_id = parse_uuid_ids(
        name, ("users", "bookings"), field="name", message_key="booking.invalid_name"
    )
    return member_id, booking_id


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


class SchedulingServicer(pb_grpc.SchedulingServiceServicer):
    def __init__(
        self,
        unit_of_work: Callable[[], SchedulingUnitOfWork],
        check_in_key: bytes,
        live: LiveEvents,
        entitlements: Entitlements,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._check_in_key = check_in_key
        self._live = live
        self._entitlements = entitlements

    async def CreateStudio(  # noqa: N802 - generated gRPC method name.
        self, request: pb.CreateStudioRequest, context: grpc.aio.ServicerContext
    ) -> pb.Studio:
        studio = await handlers.create_studio(
            self._unit_of_work(),
            request.studio_id,
            request.studio.display_name,
            request.studio.time_zone,
            _policy(request.studio.booking_policy),
        )
        return studio_to_proto(studio)

    async def GetStudio(  # noqa: N802
        self, request: pb.GetStudioRequest, context: grpc.aio.ServicerContext
    ) -> pb.Studio:
        slug = _studio_slug(request.name, "name")
        return studio_to_proto(await handlers.get_studio(self._unit_of_work(), slug))

    async def CreateRoom(  # noqa: N802
        self, request: pb.CreateRoomRequest, context: grpc.aio.ServicerContext
    ) -> pb.Room:
        room = await handlers.create_room(
            self._unit_of_work(),
            _studio_slug(request.parent, "parent"),
            request.room.display_name,
            request.room.capacity,
            tuple(request.room.spots),
        )
        return room_to_proto(room)

    async def CreateClassType(  # noqa: N802
        self, request: pb.CreateClassTypeRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassType:
        given = request.class_type
        class_type = await handlers.create_class_type(
            self._unit_of_work(),
            _studio_slug(request.parent, "parent"),
            given.display_name_en,
            given.display_name_ar,
            given.duration_minutes,
            given.level or "all",
            tuple(given.tags),
        )
        return class_type_to_proto(class_type)

    async def UpdateInstructorAvailability(  # noqa: N802
        self, request: pb.UpdateInstructorAvailabilityRequest, context: grpc.aio.ServicerContext
    ) -> pb.InstructorAvailability:
        given = request.availability
        slug, instructor_id = _availability_name(given.name, "availability.name")
        availability = validate_availability(
            [(w.day_of_week, w.start, w.end) for w in given.weekly],
            [(e.date, [(w.start, w.end) for w in e.windows]) for e in given.exceptions],
        )
        saved = await handlers.set_availability(
            self._unit_of_work(), slug, instructor_id, availability
        )
        return availability_to_proto(given.name, saved)

    async def GetInstructorAvailability(  # noqa: N802
        self, request: pb.GetInstructorAvailabilityRequest, context: grpc.aio.ServicerContext
    ) -> pb.InstructorAvailability:
        slug, instructor_id = _availability_name(request.name, "name")
        found = await handlers.get_availability(self._unit_of_work(), slug, instructor_id)
        return availability_to_proto(request.name, found)

    async def CreateClassSession(  # noqa: N802
        self, request: pb.CreateClassSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassSession:
        slug = _studio_slug(request.parent, "parent")
        given = request.class_session
        class_type_id, room_id = _class_parts(slug, given)
        if not given.HasField("start_time"):
            raise InvalidArgument([FieldViolation("class_session.start_time", "field.required")])
        session = await handlers.create_class(
            self._unit_of_work(),
            slug,
            class_type_id,
            room_id,
            given.instructor,
            given.start_time.ToDatetime(tzinfo=UTC),
            given.capacity,
        )
        return class_to_proto(session)

    async def CreateClassSchedule(  # noqa: N802
        self, request: pb.CreateClassScheduleRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateClassScheduleResponse:
        slug = _studio_slug(request.parent, "parent")
        class_type_id, room_id = _class_parts(slug, request.class_session)
        sessions = await handlers.create_schedule(
            self._unit_of_work(),
            slug,
            class_type_id,
            room_id,
            request.class_session.instructor,
            request.class_session.capacity,
            request.recurrence,
            request.first_start,
            request.weeks_ahead or 8,
        )
        return pb.CreateClassScheduleResponse(class_sessions=[class_to_proto(s) for s in sessions])

    async def GetClassSession(  # noqa: N802
        self, request: pb.GetClassSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassSession:
        slug, session_id = _in_studio(request.name, "classSessions", "name", "class.invalid_name")
        return class_to_proto(await handlers.get_class(self._unit_of_work(), slug, session_id))

    async def ListClassSessions(  # noqa: N802
        self, request: pb.ListClassSessionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClassSessionsResponse:
        slug = _studio_slug(request.parent, "parent")
        page = Page.from_request(request.page_size, request.page_token)
        class_type_id = None
        if request.class_type:
            _, class_type_id = _in_studio(
                request.class_type, "classTypes", "class_type", "class_type.invalid_name"
            )
        room_id = None
        if request.room:
            _, room_id = _in_studio(request.room, "rooms", "room", "room.invalid_name")
        if request.instructor:
            parse_user_name(request.instructor, "instructor")
        fetched = await handlers.list_classes(
            self._unit_of_work(),
            slug,
            instructor=request.instructor or None,
            room_id=room_id,
            start_from=_optional_time(request, "start_time_from"),
            start_to=_optional_time(request, "start_time_to"),
            class_type_id=class_type_id,
            only_free_spots=request.only_free_spots,
            offset=page.offset,
            limit=page.fetch_limit,
        )
        sessions, next_page_token = page.cut(fetched)
        return pb.ListClassSessionsResponse(
            class_sessions=[class_to_proto(s) for s in sessions], next_page_token=next_page_token
        )

    async def UpdateClassSession(  # noqa: N802
        self, request: pb.UpdateClassSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassSession:
        given = request.class_session
        slug, session_id = _in_studio(
            given.name, "classSessions", "class_session.name", "class.invalid_name"
        )
        paths = set(request.update_mask.paths)
        unknown = sorted(paths - {"capacity", "instructor"})
        if unknown or not paths:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "update_mask", "field.not_updatable", {"fields": ", ".join(unknown)}
                    )
                ]
            )
        if "instructor" in paths and given.instructor:
            parse_user_name(given.instructor, "class_session.instructor")
        session = await handlers.update_class(
            self._unit_of_work(),
            slug,
            session_id,
            capacity=given.capacity if "capacity" in paths else None,
            instructor=given.instructor if "instructor" in paths else None,
        )
        return class_to_proto(session)

    async def CancelClassSession(  # noqa: N802
        self, request: pb.CancelClassSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassSession:
        slug, session_id = _in_studio(request.name, "classSessions", "name", "class.invalid_name")
        session = await handlers.cancel_class(
            self._unit_of_work(), slug, session_id, request.reason
        )
        return class_to_proto(session)

    async def RescheduleClassSession(  # noqa: N802
        self, request: pb.RescheduleClassSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassSession:
        slug, session_id = _in_studio(request.name, "classSessions", "name", "class.invalid_name")
        if not request.HasField("start_time"):
            raise InvalidArgument([FieldViolation("start_time", "field.required")])
        session = await handlers.reschedule_class(
            self._unit_of_work(), slug, session_id, request.start_time.ToDatetime(tzinfo=UTC)
        )
        return class_to_proto(session)

    async def CreateBooking(  # noqa: N802
        self, request: pb.CreateBookingRequest, context: grpc.aio.ServicerContext
    ) -> pb.Booking:
        member_id = parse_user_name(request.parent, "parent")
        slug, session_id = _in_studio(
            request.booking.class_session,
            "classSessions",
            "booking.class_session",
            "class.invalid_name",
        )
        uow = self._unit_of_work()
        method, request_id = CREATE_BOOKING_METHOD, request.request_id
        replayed = await replay(uow, method, request, request_id, pb.Booking)
        if replayed is not None:
            return replayed

        async def recorded(decide: Callable[[], Awaitable[Booking]]) -> pb.Booking:
            async def respond() -> pb.Booking:
                return booking_to_proto(await decide())

            return await idempotent(uow, method, request, request_id, respond, pb.Booking)

        return await handlers.book(
            uow,
            self._entitlements,
            member_id,
            slug,
            session_id,
            booking_id(member_id, request_id),
            recorded,
            spot=request.booking.spot or None,
        )

    async def CancelBooking(  # noqa: N802
        self, request: pb.CancelBookingRequest, context: grpc.aio.ServicerContext
    ) -> pb.Booking:
        member_id, booking_id = _booking_ids(request.name)
        booking = await handlers.cancel(self._unit_of_work(), member_id, booking_id)
        return booking_to_proto(booking)

    async def GetCheckInToken(  # noqa: N802
        self, request: pb.GetCheckInTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckInToken:
        member_id, booking_id = _booking_ids(request.name)
        code, expires_at = await attendance.check_in_code(
            self._unit_of_work(), self._check_in_key, member_id, booking_id
        )
        return pb.CheckInToken(token=code, expire_time=timestamp(expires_at))

    async def CheckIn(  # noqa: N802
        self, request: pb.CheckInRequest, context: grpc.aio.ServicerContext
    ) -> pb.Attendance:
        slug = _studio_slug(request.studio, "studio")
        if not request.token:
            raise InvalidArgument([FieldViolation("token", "field.required")])
        booking, session = await attendance.check_in(
            self._unit_of_work(), self._check_in_key, slug, request.token
        )
        assert booking.checked_in_at is not None  # noqa: S101 - an attended booking has it.
        return pb.Attendance(
            booking=booking.resource_name,
            member=f"users/{booking.member_id}",
            class_session=session.resource_name,
            check_in_time=timestamp(booking.checked_in_at),
        )

    async def ListRoster(  # noqa: N802
        self, request: pb.ListRosterRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRosterResponse:
        slug, session_id = _in_studio(
            request.class_session, "classSessions", "class_session", "class.invalid_name"
        )
        entries = await attendance.roster(self._unit_of_work(), slug, session_id)
        return pb.ListRosterResponse(entries=[roster_entry(booking) for booking in entries])

    async def WatchBookings(  # noqa: N802
        self, request: pb.WatchBookingsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.BookingUpdate]:
        member_id = parse_user_name(request.parent, "parent")
        handlers.authorize_member(member_id)
        async with self._live.listen() as events:
            # Headers now, not with the first update: the app knows it is listening before
            # anything changes, and nothing that happens from here on is missed.
            await context.send_initial_metadata(())
            while True:
                update = booking_update(await events.get(), request.parent)
                if update is not None:
                    yield update

    async def ExportBookingCalendar(  # noqa: N802
        self, request: pb.ExportBookingCalendarRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        member_id = parse_user_name(request.parent, "parent")
        feed = await handlers.booking_calendar(self._unit_of_work(), member_id, current_locale())
        return httpbody_pb2.HttpBody(
            content_type="text/calendar; charset=utf-8", data=feed.encode()
        )

    async def ListBookings(  # noqa: N802
        self, request: pb.ListBookingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListBookingsResponse:
        member_id = parse_user_name(request.parent, "parent")
        page = Page.from_request(request.page_size, request.page_token)
        fetched = await handlers.list_bookings(
            self._unit_of_work(), member_id, page.offset, page.fetch_limit
        )
        bookings, next_page_token = page.cut(fetched)
        return pb.ListBookingsResponse(
            bookings=[booking_to_proto(b) for b in bookings], next_page_token=next_page_token
        )


def _optional_time(
    request: pb.ListClassSessionsRequest, field: Literal["start_time_from", "start_time_to"]
) -> datetime | None:
    if not request.HasField(field):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(request, field)
    return stamp.ToDatetime(tzinfo=UTC)
