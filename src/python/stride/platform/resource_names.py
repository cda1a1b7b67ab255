"""Parsing AIP resource names (`users/{user}/bookings/{booking}`) from requests."""

from __future__ import annotations

import uuid

from stride.platform.errors import FieldViolation, InvalidArgument


def parse_resource_name(
    name: str, collections: tuple[str, ...], *, field: str, message_key: str
) -> list[str]:
    """The ids in `name` for the collections given in order, e.g. ("users", "bookings") →
    [user, booking]; anything else is the caller's mistake, reported on `field`."""
    parts = name.split("/")
    ids = parts[1::2]
    if parts[0::2] == list(collections) and len(ids) == len(collections) and all(ids):
        return ids
    raise InvalidArgument([FieldViolation(field, message_key)])


def parse_uuid_ids(
    name: str, collections: tuple[str, ...], *, field: str, message_key: str
) -> list[uuid.UUID]:
    ids = parse_resource_name(name, collections, field=field, message_key=message_key)
    try:
        return [uuid.UUID(value) for value in ids]
    except ValueError:
        raise InvalidArgument([FieldViolation(field, message_key)]) from None


def parse_user_name(name: str, field: str = "name") -> uuid.UUID:
    """`users/{uuid}` → the uuid: the user every service's member-owned resources hang off."""
    (user_id,) = parse_uuid_ids(name, ("users",), field=field, message_key="user.invalid_name")
    return user_id
