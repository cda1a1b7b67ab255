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
