"""Studios, rooms and class types between protobuf and the domain."""

from __future__ import annotations

from stride.scheduling.domain.model import BookingPolicy, ClassType, Room, Studio
from stride.scheduling.v1 import scheduling_service_pb2 as pb


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


def policy_from_proto(proto: pb.BookingPolicy) -> BookingPolicy:
    """Unset fields keep the defaults."""
    defaults = BookingPolicy()
    return BookingPolicy(
        booking_window_days=proto.booking_window_days or defaults.booking_window_days,
        booking_cutoff_minutes=proto.booking_cutoff_minutes or defaults.booking_cutoff_minutes,
        late_cancel_hours=proto.late_cancel_hours or defaults.late_cancel_hours,
        max_active_bookings=proto.max_active_bookings or defaults.max_active_bookings,
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
