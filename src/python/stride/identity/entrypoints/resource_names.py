"""Parsing of Identity's AIP resource names."""

from __future__ import annotations

import uuid

from stride.platform.errors import FieldViolation, InvalidArgument

_USERS = "users/"


def parse_user_name(name: str, field: str = "name") -> uuid.UUID:
    """`users/{uuid}` → the uuid; anything else is the caller's mistake, reported on `field`."""
    if name.startswith(_USERS):
        try:
            return uuid.UUID(name.removeprefix(_USERS))
        except ValueError:
            pass
    raise InvalidArgument([FieldViolation(field, "user.invalid_name")])


def parse_session_name(name: str, field: str = "name") -> tuple[uuid.UUID, uuid.UUID]:
    """`users/{uuid}/sessions/{uuid}` → (user id, session id)."""
    parts = name.split("/")
    if len(parts) == 4 and parts[0] == "users" and parts[2] == "sessions":
        try:
            return uuid.UUID(parts[1]), uuid.UUID(parts[3])
        except ValueError:
            pass
    raise InvalidArgument([FieldViolation(field, "session.invalid_name")])
