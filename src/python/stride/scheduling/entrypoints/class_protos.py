"""Classes between protobuf and the domain."""

from __future__ import annotations

import uuid

from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.grpc.timestamps import timestamp
from stride.platform.resource_names import parse_user_name
from stride.scheduling.domain.model import ClassSession
from stride.scheduling.entrypoints.resource_names import in_studio
from stride.scheduling.v1 import scheduling_service_pb2 as pb

CLASS_UPDATABLE = ("capacity", "instructor")  # Moving a class is RescheduleClassSession.


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
    if given.instructor:
        parse_user_name(given.instructor, "class_session.instructor")
    return class_type_id, room_id


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
