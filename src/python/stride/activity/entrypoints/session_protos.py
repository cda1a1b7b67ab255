"""Workout sessions and personal records between protobuf and the domain."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stride.activity.domain.records import PersonalRecord, RecordKind
from stride.activity.domain.sessions import LoggedSet, SessionFields, SessionState, WorkoutSession
from stride.activity.domain.streaks import Streak
from stride.activity.domain.summary import TrainingWeek
from stride.activity.entrypoints.resource_names import exercise_name, template_ids
from stride.activity.v1 import activity_service_pb2 as pb
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.grpc.timestamps import timestamp

_STATES = {
    SessionState.IN_PROGRESS: pb.WorkoutSession.STATE_IN_PROGRESS,
    SessionState.COMPLETED: pb.WorkoutSession.STATE_COMPLETED,
}
_STATE_OF = {value: key for key, value in _STATES.items()}
STATES = _STATES
_RECORD_KINDS = {
    RecordKind.ESTIMATED_ONE_REP_MAX: pb.PersonalRecord.KIND_ESTIMATED_ONE_REP_MAX,
    RecordKind.REP_MAX: pb.PersonalRecord.KIND_REP_MAX,
}


def upload_from_proto(given: pb.WorkoutSession) -> tuple[SessionFields, tuple[LoggedSet, ...]]:
    """The session's fields and sets as the app sent them, with every name checked."""
    violations = []
    if not given.HasField("start_time"):
        violations.append(FieldViolation("workout_session.start_time", "field.required"))
    if given.workout_template:
        template_ids(given.workout_template, "workout_session.workout_template")
    if given.class_session and not _class_session_name(given.class_session):
        violations.append(
            FieldViolation("workout_session.class_session", "workout_session.invalid_class")
        )
    sets = []
    for index, logged in enumerate(given.sets):
        at = f"workout_session.sets[{index}]"
        try:
            set_id = uuid.UUID(logged.id)
        except ValueError:
            violations.append(FieldViolation(f"{at}.id", "logged_set.invalid_id"))
            continue
        sets.append(
            LoggedSet(
                id=set_id,
                exercise=exercise_name(logged.exercise, f"{at}.exercise"),
                position=logged.position,
                reps=logged.reps,
                weight_kg=logged.weight_kg,
                reps_in_reserve=logged.reps_in_reserve
                if logged.HasField("reps_in_reserve")
                else None,
                rpe=logged.rpe if logged.HasField("rpe") else None,
                duration_seconds=logged.duration_seconds,
                distance_meters=logged.distance_meters,
                complete_time=(
                    logged.complete_time.ToDatetime(UTC)
                    if logged.HasField("complete_time")
                    else None
                ),
                version=logged.version,
                deleted=logged.deleted,
            )
        )
    if violations:
        raise InvalidArgument(violations)
    fields = SessionFields(
        display_name=given.display_name,
        workout_template=given.workout_template,
        class_session=given.class_session,
        state=_STATE_OF.get(given.state, SessionState.IN_PROGRESS),
        start_time=given.start_time.ToDatetime(UTC),
        end_time=given.end_time.ToDatetime(UTC) if given.HasField("end_time") else None,
        notes=given.notes,
        version=given.version,
        time_zone=given.time_zone or "UTC",
        max_heart_rate=given.max_heart_rate,
    )
    return fields, tuple(sets)


def session_to_proto(session: WorkoutSession) -> pb.WorkoutSession:
    fields = session.fields
    message = pb.WorkoutSession(
        name=session.resource_name,
        display_name=fields.display_name,
        workout_template=fields.workout_template,
        class_session=fields.class_session,
        state=_STATES[fields.state],
        start_time=timestamp(fields.start_time),
        notes=fields.notes,
        version=fields.version,
        sets=[set_to_proto(logged) for logged in session.sets],
        volume_kg=session.volume_kg,
        update_time=timestamp(session.update_time),
        time_zone=fields.time_zone,
        max_heart_rate=fields.max_heart_rate,
        live_sequence=session.live_sequence,
    )
    if fields.end_time is not None:
        message.end_time.CopyFrom(timestamp(fields.end_time))
    return message


def set_to_proto(logged: LoggedSet) -> pb.LoggedSet:
    message = pb.LoggedSet(
        id=str(logged.id),
        exercise=logged.exercise,
        position=logged.position,
        reps=logged.reps,
        weight_kg=logged.weight_kg,
        reps_in_reserve=logged.reps_in_reserve,
        rpe=logged.rpe,
        duration_seconds=logged.duration_seconds,
        distance_meters=logged.distance_meters,
        version=logged.version,
        deleted=logged.deleted,
    )
    if logged.complete_time is not None:
        message.complete_time.CopyFrom(timestamp(logged.complete_time))
    return message


def record_to_proto(record: PersonalRecord) -> pb.PersonalRecord:
    return pb.PersonalRecord(
        name=record.resource_name,
        exercise=record.exercise,
        kind=_RECORD_KINDS[record.kind],
        reps=record.reps,
        weight_kg=record.weight_kg,
        set_weight_kg=record.lift.weight_kg,
        workout_session=f"users/{record.member_id}/workoutSessions/{record.lift.session_id}",
        achieve_time=timestamp(record.lift.achieve_time),
    )


def _class_session_name(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 4 and parts[0] == "studios" and parts[2] == "classSessions" and all(parts)


def summary_to_proto(
    name: str, week_start: date, week: TrainingWeek, streak: Streak | None
) -> pb.TrainingSummary:
    return pb.TrainingSummary(
        name=name,
        week_start_date=week_start.isoformat(),
        sessions=week.sessions,
        class_sessions=week.class_sessions,
        muscle_volumes=[
            pb.TrainingSummary.MuscleVolume(muscle=m.muscle, sets=m.sets, volume_kg=m.volume_kg)
            for m in week.muscle_volumes
        ],
        current_streak_days=streak.days if streak else 0,
        longest_streak_days=streak.longest if streak else 0,
        last_training_date=streak.last_day.isoformat() if streak else "",
    )


def summary_week(
    given: pb.GetTrainingSummaryRequest, now: datetime
) -> tuple[date, datetime, datetime]:
    """The week the request asks for: its first day and its span as instants in its zone."""
    violations = []
    try:
        zone = ZoneInfo(given.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        violations.append(FieldViolation("time_zone", "field.invalid_time_zone"))
        zone = ZoneInfo("UTC")
    try:
        first = (
            date.fromisoformat(given.week_start_date)
            if given.week_start_date
            else now.astimezone(zone).date() - timedelta(days=6)
        )
    except ValueError:
        violations.append(FieldViolation("week_start_date", "field.invalid_format"))
    if violations:
        raise InvalidArgument(violations)
    start = datetime.combine(first, time(), tzinfo=zone)
    end = datetime.combine(first + timedelta(days=7), time(), tzinfo=zone)
    return first, start, end
