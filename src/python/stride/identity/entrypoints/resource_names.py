"""Parsing of Identity's AIP resource names."""

from __future__ import annotations

import uuid

from stride.platform.resource_names import parse_uuid_ids


def parse_session_name(name: str, field: str = "name") -> tuple[uuid.UUID, uuid.UUID]:
    """`users/{uuid}/sessions/{uuid}` → (user id, session id)."""
    user_id, session_id = parse_uuid_ids(
        name, ("users", "sessions"), field=field, message_key="session.invalid_name"
    )
    return user_id, session_id
