"""Classes between protobuf and the domain, and what a list of them is filtered on."""

from __future__ import annotations

import uuid
from datetime import UTC

from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.filtering import FILTER_FIELD, Comparison, FilterField, FilterSchema, Operator
from stride.platform.grpc.timestamps import timestamp
from stride.platform.resource_names import parse_user_name
from stride.scheduling.domain.model import ClassSession
from stride.scheduling.entrypoints.resource_names import in_studio
from stride.scheduling.v1 import scheduling_service_pb2 as pb

CLASS_UPDATABLE = ("capacity", "instructor")  # Moving a class is RescheduleClassSession.
CLASS_FILTER = FilterSchema(
    {
        "start_time": FilterField.timestamp(),
        "free_spots": FilterField.integer(),
        "class_type": FilterField.string(),
        "room": FilterField.string(),
        "instructor": FilterField.string(),
    }
)


def class_parts(slug: str, given: pb.ClassSession) -> tuple[uuid.UUID, uuid.UUID]:
    """The class type and room a new class names, both of the studio `slug`."""
    type_studio, class_type_id = in_studio(
        given.class_type, "classTypes", "class_session.class_type", "class_type.invalid_name"
    )
    room_studio, room_id = in_studio(given.room, "rooms", "class_session.room", "room.invalid_name")
    violations = [
        FieldViolation(f"class_session.{field}", "field.other_studio")
        for field, owner in (("class_type", type_studio), ("room", room_studio))
        if owner != slug
    ]
    if violations:
        raise InvalidArgument(violations)
    return class_type_id, room_id


def instructor_name(given: str, field: str) -> str:
    """`users/{id}` spelled one way ("" for none): the name is compared and stored as such,
    and a UUID has many spellings (braces, `urn:uuid:`, upper case)."""
    return f"users/{parse_user_name(given, field)}" if given else ""


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
        free_spots=session.free_spots,
    )
    if session.cancelled_at is not None:
        proto.cancel_time.CopyFrom(timestamp(session.cancelled_at))
    return proto


def class_filter(request: pb.ListClassSessionsRequest) -> list[Comparison]:
    """The request's `filter` with the domain's values (ids for class types and rooms), and
    what its deprecated fields ask for, all of which must hold."""
    where = [_domain_value(comparison) for comparison in CLASS_FILTER.parse(request.filter)]
    if request.HasField("start_time_from"):
        start = request.start_time_from.ToDatetime(tzinfo=UTC)
        where.append(Comparison("start_time", Operator.GREATER_OR_EQUAL, start))
    if request.HasField("start_time_to"):
        end = request.start_time_to.ToDatetime(tzinfo=UTC)
        where.append(Comparison("start_time", Operator.LESS, end))
    if request.class_type:
        _, class_type_id = in_studio(
            request.class_type, "classTypes", "class_type", "class_type.invalid_name"
        )
        where.append(Comparison("class_type", Operator.EQUAL, class_type_id))
    if request.room:
        _, room_id = in_studio(request.room, "rooms", "room", "room.invalid_name")
        where.append(Comparison("room", Operator.EQUAL, room_id))
    if request.instructor:
        instructor = f"users/{parse_user_name(request.instructor, 'instructor')}"
        where.append(Comparison("instructor", Operator.EQUAL, instructor))
    if request.only_free_spots:
        where.append(Comparison("free_spots", Operator.GREATER, 0))
    return where


def _domain_value(comparison: Comparison) -> Comparison:
    """Resource names in a filter, as the ids (class types, rooms) or names (instructors) the
    domain keeps; a malformed one is the filter's mistake."""
    value = str(comparison.value)
    if comparison.field == "class_type":
        _, class_type_id = in_studio(value, "classTypes", FILTER_FIELD, "class_type.invalid_name")
        return Comparison(comparison.field, comparison.operator, class_type_id)
    if comparison.field == "room":
        _, room_id = in_studio(value, "rooms", FILTER_FIELD, "room.invalid_name")
        return Comparison(comparison.field, comparison.operator, room_id)
    if comparison.field == "instructor":
        instructor = f"users/{parse_user_name(value, FILTER_FIELD)}"
        return Comparison(comparison.field, comparison.operator, instructor)
    return comparison
