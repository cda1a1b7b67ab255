"""Parsing of Scheduling's AIP resource names."""

from __future__ import annotations

import uuid

from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.resource_names import parse_resource_name, parse_uuid_ids


def studio_slug(name: str, field: str) -> str:
    """`studios/{studio}` → the studio's slug."""
    (slug,) = parse_resource_name(
        name, ("studios",), field=field, message_key="studio.invalid_name"
    )
    return slug


def in_studio(name: str, collection: str, field: str, message_key: str) -> tuple[str, uuid.UUID]:
    """`studios/{studio}/{collection}/{uuid}` → (studio slug, id)."""
    slug, child = parse_resource_name(
        name, ("studios", collection), field=field, message_key=message_key
    )
    try:
        return slug, uuid.UUID(child)
    except ValueError:
        raise InvalidArgument([FieldViolation(field, message_key)]) from None


def availability_name(name: str, field: str) -> tuple[str, uuid.UUID]:
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


def booking_ids(name: str) -> tuple[uuid.UUID, uuid.UUID]:
    """`users/{user}/bookings/{booking}` → (member id, booking id)."""
    member_id, booking_id = parse_uuid_ids(
        name, ("users", "bookings"), field="name", message_key="booking.invalid_name"
    )
    return member_id, booking_id
