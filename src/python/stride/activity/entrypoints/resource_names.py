"""Parsing of Activity's AIP resource names."""

from __future__ import annotations

import uuid

from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.resource_names import parse_resource_name, parse_user_name, parse_uuid_ids


def studio_name(name: str, field: str) -> str:
    """`studios/{studio}`, checked."""
    (slug,) = parse_resource_name(
        name, ("studios",), field=field, message_key="studio.invalid_name"
    )
    return f"studios/{slug}"


def exercise_name(name: str, field: str) -> str:
    """`exercises/{exercise}` or `studios/{studio}/exercises/{exercise}`, checked."""
    collections = ("studios", "exercises") if name.startswith("studios/") else ("exercises",)
    parse_resource_name(name, collections, field=field, message_key="exercise.invalid_name")
    return name


def template_ids(name: str, field: str) -> tuple[str, uuid.UUID]:
    """`studios/{studio}/workoutTemplates/{uuid}` → (`studios/{studio}`, id)."""
    slug, template = parse_resource_name(
        name,
        ("studios", "workoutTemplates"),
        field=field,
        message_key="workout_template.invalid_name",
    )
    try:
        return f"studios/{slug}", uuid.UUID(template)
    except ValueError:
        raise InvalidArgument([FieldViolation(field, "workout_template.invalid_name")]) from None


def session_ids(name: str, field: str) -> tuple[uuid.UUID, uuid.UUID]:
    """`users/{user}/workoutSessions/{uuid}` → (member id, session id)."""
    member_id, session_id = parse_uuid_ids(
        name, ("users", "workoutSessions"), field=field, message_key="workout_session.invalid_name"
    )
    return member_id, session_id


def health_anchor_ids(name: str, field: str) -> tuple[uuid.UUID, str]:
    """`users/{user}/healthSyncAnchors/{source}` → (member id, source)."""
    user, source = parse_resource_name(
        name,
        ("users", "healthSyncAnchors"),
        field=field,
        message_key="health_sync_anchor.invalid_name",
    )
    return parse_user_name(f"users/{user}", field), source


def health_settings_member(name: str, field: str) -> uuid.UUID:
    """`users/{user}/healthSettings` → the member id."""
    user, suffix = name.rsplit("/", 1) if "/" in name else (name, "")
    if suffix != "healthSettings":
        raise InvalidArgument([FieldViolation(field, "health_settings.invalid_name")])
    return parse_user_name(user, field)
