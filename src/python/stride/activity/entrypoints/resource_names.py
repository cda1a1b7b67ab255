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
    """`studios/{studio}/workoutTemplates/{uuid}` → (`studios/{studio}`, id); a member's copy,
    `users/{user}/workoutTemplates/{uuid}` → (`users/{user}`, id)."""
    owners = "users" if name.startswith("users/") else "studios"
    owner, template = parse_resource_name(
        name,
        (owners, "workoutTemplates"),
        field=field,
        message_key="workout_template.invalid_name",
    )
    try:
        if owners == "users":
            owner = str(uuid.UUID(owner))  # One spelling: owners are compared as text.
        return f"{owners}/{owner}", uuid.UUID(template)
    except ValueError:
        raise InvalidArgument([FieldViolation(field, "workout_template.invalid_name")]) from None


def session_ids(name: str, field: str) -> tuple[uuid.UUID, uuid.UUID]:
    """`users/{user}/workoutSessions/{uuid}` → (member id, session id)."""
    member_id, session_id = parse_uuid_ids(
        name, ("users", "workoutSessions"), field=field, message_key="workout_session.invalid_name"
    )
    return member_id, session_id


def program_ids(name: str, field: str) -> tuple[str, uuid.UUID]:
    """`studios/{studio}/programs/{uuid}` → (`studios/{studio}`, id)."""
    slug, program = parse_resource_name(
        name, ("studios", "programs"), field=field, message_key="program.invalid_name"
    )
    try:
        return f"studios/{slug}", uuid.UUID(program)
    except ValueError:
        raise InvalidArgument([FieldViolation(field, "program.invalid_name")]) from None


def assignment_ids(name: str, field: str) -> tuple[uuid.UUID, uuid.UUID]:
    """`users/{user}/programAssignments/{uuid}` → (member id, assignment id)."""
    member_id, assignment_id = parse_uuid_ids(
        name,
        ("users", "programAssignments"),
        field=field,
        message_key="program_assignment.invalid_name",
    )
    return member_id, assignment_id


def class_workout_session(name: str, field: str) -> str:
    """`studios/{studio}/classSessions/{id}/workout` → the class,
    `studios/{studio}/classSessions/{id}`."""
    class_session, _, singleton = name.rpartition("/")
    parts = class_session.split("/")
    shaped = len(parts) == 4 and parts[0::2] == ["studios", "classSessions"] and all(parts)
    if singleton != "workout" or not shaped:
        raise InvalidArgument([FieldViolation(field, "class_workout.invalid_name")])
    return class_session


def summary_member(name: str, field: str) -> uuid.UUID:
    """`users/{user}/trainingSummary` (a singleton) → the member's id."""
    user, _, singleton = name.rpartition("/")
    if singleton != "trainingSummary":
        raise InvalidArgument([FieldViolation(field, "training_summary.invalid_name")])
    return parse_user_name(user, field)


def goal_ids(name: str, field: str) -> tuple[uuid.UUID, uuid.UUID]:
    """`users/{user}/goals/{uuid}` → (member id, goal id)."""
    member_id, goal_id = parse_uuid_ids(
        name, ("users", "goals"), field=field, message_key="goal.invalid_name"
    )
    return member_id, goal_id


def consent_member(name: str, field: str) -> uuid.UUID:
    """`users/{user}/dataConsent` (a singleton) → the member's id."""
    user, _, singleton = name.rpartition("/")
    if singleton != "dataConsent":
        raise InvalidArgument([FieldViolation(field, "data_consent.invalid_name")])
    return parse_user_name(user, field)


def class_session_name(name: str, field: str) -> str:
    """`studios/{studio}/classSessions/{class_session}` (Scheduling's), checked."""
    parse_resource_name(
        name,
        ("studios", "classSessions"),
        field=field,
        message_key="workout_session.invalid_class",
    )
    return name


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


def route_ids(name: str, field: str) -> tuple[uuid.UUID, str]:
    """`users/{user}/importedActivities/{imported_activity}/route` → (member id, activity id)."""
    activity, _, singleton = name.rpartition("/")
    if singleton != "route":
        raise InvalidArgument([FieldViolation(field, "activity_route.invalid_name")])
    user, activity_id = parse_resource_name(
        activity,
        ("users", "importedActivities"),
        field=field,
        message_key="activity_route.invalid_name",
    )
    return parse_user_name(f"users/{user}", field), activity_id


def trends_member(name: str, field: str) -> uuid.UUID:
    """`users/{user}/activityTrends` (a singleton) → the member's id."""
    user, _, singleton = name.rpartition("/")
    if singleton != "activityTrends":
        raise InvalidArgument([FieldViolation(field, "activity_trends.invalid_name")])
    return parse_user_name(user, field)
