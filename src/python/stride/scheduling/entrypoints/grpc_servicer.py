"""SchedulingService over gRPC: proto → use case → proto, with the mapping in *_protos.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC

import grpc
from google.api import httpbody_pb2

from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.events.live import LiveEvents
from stride.platform.grpc.field_masks import updated_fields
from stride.platform.grpc.timestamps import timestamp
from stride.platform.i18n import current_locale
from stride.platform.idempotency import RecordedRequest, fingerprint
from stride.platform.pagination import Page
from stride.platform.resource_names import parse_user_name, parse_uuid_ids
from stride.scheduling import translations  # noqa: F401 - registers Scheduling's texts.
from stride.scheduling.domain.availability import AVAILABILITY_PARTS
from stride.scheduling.domain.model import booking_id
from stride.scheduling.entrypoints.availability_protos import (
    availability_from_proto,
    availability_to_proto,
)
from stride.scheduling.entrypoints.booking_protos import (
    attendance_to_proto,
    booking_to_proto,
    booking_update,
    roster_entry,
)
from stride.scheduling.entrypoints.class_protos import (
    CLASS_UPDATABLE,
    class_filter,
    class_parts,
    class_to_proto,
    instructor_name,
)
from stride.scheduling.entrypoints.resource_names import (
    availability_name,
    booking_ids,
    in_studio,
    studio_slug,
)
from stride.scheduling.entrypoints.studio_protos import (
    class_type_to_proto,
    policy_from_proto,
    room_to_proto,
    studio_to_proto,
)
from stride.scheduling.service_layer import attendance, handlers
from stride.scheduling.service_layer.booking_decisions import BookingDecisions
from stride.scheduling.service_layer.ports import Entitlements
from stride.scheduling.service_layer.unit_of_work import SchedulingUnitOfWork
from stride.scheduling.v1 import scheduling_service_pb2 as pb
from stride.scheduling.v1 import scheduling_service_pb2_grpc as pb_grpc

CREATE_BOOKING_METHOD = "/stride.scheduling.v1.SchedulingService/CreateBooking"


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
        # One per process: bookings for one class arriving together are decided together.
        self._decisions = BookingDecisions(
            unit_of_work, pb.Booking.FromString, pb.Booking.SerializeToString
        )

    async def CreateStudio(  # noqa: N802 - generated gRPC method name.
        self, request: pb.CreateStudioRequest, context: grpc.aio.ServicerContext
    ) -> pb.Studio:
        studio = await handlers.create_studio(
            self._unit_of_work(),
            request.studio_id,
            request.studio.display_name,
            request.studio.time_zone,
            policy_from_proto(request.studio.booking_policy),
        )
        return studio_to_proto(studio)

    async def GetStudio(  # noqa: N802
        self, request: pb.GetStudioRequest, context: grpc.aio.ServicerContext
    ) -> pb.Studio:
        slug = studio_slug(request.name, "name")
        return studio_to_proto(await handlers.get_studio(self._unit_of_work(), slug))

    async def CreateRoom(  # noqa: N802
        self, request: pb.CreateRoomRequest, context: grpc.aio.ServicerContext
    ) -> pb.Room:
        room = await handlers.create_room(
            self._unit_of_work(),
            studio_slug(request.parent, "parent"),
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
            studio_slug(request.parent, "parent"),
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
        slug, instructor_id = availability_name(given.name, "availability.name")
        parts = updated_fields(request, AVAILABILITY_PARTS)
        saved = await handlers.set_availability(
            self._unit_of_work(), slug, instructor_id, availability_from_proto(given, parts), parts
        )
        return availability_to_proto(given.name, saved)

    async def GetInstructorAvailability(  # noqa: N802
        self, request: pb.GetInstructorAvailabilityRequest, context: grpc.aio.ServicerContext
    ) -> pb.InstructorAvailability:
        slug, instructor_id = availability_name(request.name, "name")
        found = await handlers.get_availability(self._unit_of_work(), slug, instructor_id)
        return availability_to_proto(request.name, found)

    async def CreateClassSession(  # noqa: N802
        self, request: pb.CreateClassSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassSession:
        slug = studio_slug(request.parent, "parent")
        given = request.class_session
        class_type_id, room_id = class_parts(slug, given)
        if not given.HasField("start_time"):
            raise InvalidArgument([FieldViolation("class_session.start_time", "field.required")])
        session = await handlers.create_class(
            self._unit_of_work(),
            slug,
            class_type_id,
            room_id,
            instructor_name(given.instructor, "class_session.instructor"),
            given.start_time.ToDatetime(tzinfo=UTC),
            given.capacity,
        )
        return class_to_proto(session)

    async def CreateClassSchedule(  # noqa: N802
        self, request: pb.CreateClassScheduleRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateClassScheduleResponse:
        slug = studio_slug(request.parent, "parent")
        class_type_id, room_id = class_parts(slug, request.class_session)
        sessions = await handlers.create_schedule(
            self._unit_of_work(),
            slug,
            class_type_id,
            room_id,
            instructor_name(request.class_session.instructor, "class_session.instructor"),
            request.class_session.capacity,
            request.recurrence,
            request.first_start,
            request.weeks_ahead or 8,
        )
        return pb.CreateClassScheduleResponse(class_sessions=[class_to_proto(s) for s in sessions])

    async def GetClassSession(  # noqa: N802
        self, request: pb.GetClassSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassSession:
        slug, session_id = in_studio(request.name, "classSessions", "name", "class.invalid_name")
        return class_to_proto(await handlers.get_class(self._unit_of_work(), slug, session_id))

    async def ListClassSessions(  # noqa: N802
        self, request: pb.ListClassSessionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClassSessionsResponse:
        slug = studio_slug(request.parent, "parent")
        page = Page.of(request)
        fetched = await handlers.list_classes(
            self._unit_of_work(), slug, class_filter(request), page.offset, page.fetch_limit
        )
        sessions, next_page_token = page.cut(fetched)
        return pb.ListClassSessionsResponse(
            class_sessions=[class_to_proto(s) for s in sessions], next_page_token=next_page_token
        )

    async def UpdateClassSession(  # noqa: N802
        self, request: pb.UpdateClassSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassSession:
        given = request.class_session
        slug, session_id = in_studio(
            given.name, "classSessions", "class_session.name", "class.invalid_name"
        )
        paths = updated_fields(request, CLASS_UPDATABLE)
        instructor = None
        if "instructor" in paths:
            instructor = instructor_name(given.instructor, "class_session.instructor")
        session = await handlers.update_class(
            self._unit_of_work(),
            slug,
            session_id,
            capacity=given.capacity if "capacity" in paths else None,
            instructor=instructor,
        )
        return class_to_proto(session)

    async def CancelClassSession(  # noqa: N802
        self, request: pb.CancelClassSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassSession:
        slug, session_id = in_studio(request.name, "classSessions", "name", "class.invalid_name")
        session = await handlers.cancel_class(
            self._unit_of_work(), slug, session_id, request.reason
        )
        return class_to_proto(session)

    async def RescheduleClassSession(  # noqa: N802
        self, request: pb.RescheduleClassSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassSession:
        slug, session_id = in_studio(request.name, "classSessions", "name", "class.invalid_name")
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
        slug, session_id = in_studio(
            request.booking.class_session,
            "classSessions",
            "booking.class_session",
            "class.invalid_name",
        )
        print_ = fingerprint(request)
        command = handlers.BookClass(
            member_id,
            slug,
            session_id,
            booking_id(member_id, request.request_id, print_),
            RecordedRequest.of(CREATE_BOOKING_METHOD, request.request_id, print_),
            booking_to_proto,
            spot=request.booking.spot or None,
        )
        return await handlers.book(
            self._unit_of_work(), self._entitlements, self._decisions, command
        )

    async def FindBookings(  # noqa: N802
        self, request: pb.FindBookingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.FindBookingsResponse:
        ids = [
            parse_uuid_ids(
                name,
                ("users", "bookings"),
                field=f"names[{index}]",
                message_key="booking.invalid_name",
            )[1]
            for index, name in enumerate(request.names)
        ]
        found = await handlers.find_bookings(self._unit_of_work(), ids)
        return pb.FindBookingsResponse(bookings=[booking_to_proto(b) for b in found])

    async def CancelBooking(  # noqa: N802
        self, request: pb.CancelBookingRequest, context: grpc.aio.ServicerContext
    ) -> pb.Booking:
        member_id, booking_id = booking_ids(request.name)
        booking = await handlers.cancel(self._unit_of_work(), member_id, booking_id)
        return booking_to_proto(booking)

    async def GetCheckInToken(  # noqa: N802
        self, request: pb.GetCheckInTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckInToken:
        member_id, booking_id = booking_ids(request.name)
        code, expires_at = await attendance.check_in_code(
            self._unit_of_work(), self._check_in_key, member_id, booking_id
        )
        return pb.CheckInToken(token=code, expire_time=timestamp(expires_at))

    async def CheckIn(  # noqa: N802
        self, request: pb.CheckInRequest, context: grpc.aio.ServicerContext
    ) -> pb.Attendance:
        slug = studio_slug(request.studio, "studio")
        if not request.token:
            raise InvalidArgument([FieldViolation("token", "field.required")])
        booking, session = await attendance.check_in(
            self._unit_of_work(), self._check_in_key, slug, request.token
        )
        return attendance_to_proto(booking, session)

    async def ListRoster(  # noqa: N802
        self, request: pb.ListRosterRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRosterResponse:
        slug, session_id = in_studio(
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
        page = Page.of(request)
        fetched = await handlers.list_bookings(
            self._unit_of_work(), member_id, page.offset, page.fetch_limit
        )
        bookings, next_page_token = page.cut(fetched)
        return pb.ListBookingsResponse(
            bookings=[booking_to_proto(b) for b in bookings], next_page_token=next_page_token
        )
