"""Activity's use cases: each takes a command (or ids), runs in one unit of work and returns
domain objects. Authorization by audience happened in the interceptor (the contract's
`stride.api.v1.access`); what depends on stored rows is checked here."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from stride.activity.domain.best_efforts import BestEffort
from stride.activity.domain.exercises import Exercise, studio_exercise_name, validate_exercise
from stride.activity.domain.goals import Goal, GoalKind, validate_goal, week_of
from stride.activity.domain.health import CONSENT_NEEDED, Rollup
from stride.activity.domain.live import (
    Heartbeat,
    LiveUpdate,
    SessionHeartRate,
    class_topic,
    heart_rate_changes,
    session_topic,
    upload_changes,
)
from stride.activity.domain.privacy import Consent, HealthData, PendingDeletion, new_deletion
from stride.activity.domain.programs import (
    Assignment,
    Program,
    Suggestion,
    suggest,
    validate_assignment_start,
    validate_program,
)
from stride.activity.domain.providers import ImportedActivity, ProviderConnection
from stride.activity.domain.records import (
    PersonalRecord,
    RecordKind,
    best_records,
    improvements,
)
from stride.activity.domain.sessions import (
    SessionFields,
    SessionState,
    WorkoutSession,
    merge,
    validate_upload,
)
from stride.activity.domain.streaks import Streak, extended, local_day, streak_from
from stride.activity.domain.summary import TrainingWeek, muscle_volumes
from stride.activity.domain.templates import WorkoutTemplate, validate_blocks
from stride.activity.events.v1 import events_pb2
from stride.activity.service_layer import providers
from stride.activity.service_layer.commands import (
    AssignProgram,
    CreateExercise,
    CreateGoal,
    CreateProgram,
    CreateWorkoutTemplate,
    ListExercises,
    RecordHeartRate,
    SuggestNextSet,
    TemplateChanges,
    UploadWorkoutSession,
    WatchWorkoutSession,
)
from stride.activity.service_layer.event_types import (
    GOAL_ACHIEVED,
    PERSONAL_RECORD_SET,
    SESSION_COMPLETED,
    STREAK_BROKEN,
    STREAK_EXTENDED,
)
from stride.activity.service_layer.ports import LiveNotifier, Providers
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.auth import current_principal, require_self_or_role
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from stride.platform.resource_names import parse_user_name
from stride.scheduling.events.v1.events_pb2 import BookingChanged

Exported = TypeVar("Exported")

LIVE_READ_BATCH = 200  # Updates read from the log at a time by a watcher catching up.
# How far back a streak is counted: a year of days in a row is as long as one is told.
STREAK_LOOKBACK_DAYS = 366
ONE_WEEK = timedelta(days=7)
CHECKED_IN = "scheduling.attendance.checked_in.v1"
# Sessions prepared for a class are named from the booking: one per member and class.
_CLASS_SESSIONS = uuid.UUID("0b7f5a43-6d0c-4c44-9a55-3f1f3d7c2e18")


async def create_exercise(uow: ActivityUnitOfWork, command: CreateExercise) -> Exercise:
    name = studio_exercise_name(command.studio, command.exercise_id)
    exercise = validate_exercise(replace(command.exercise, name=name))
    async with uow:
        alternatives = await uow.exercises.get_many(exercise.alternatives)
        _require_known(exercise.alternatives, alternatives, "exercise.alternatives")
        await uow.exercises.add(exercise)
        await uow.commit()
    return exercise


async def get_exercise(uow: ActivityUnitOfWork, name: str) -> Exercise:
    async with uow:
        exercise = await uow.exercises.get(name)
    if exercise is None:
        raise NotFound("EXERCISE_NOT_FOUND", "exercise.not_found")
    return exercise


async def list_exercises(uow: ActivityUnitOfWork, command: ListExercises) -> list[Exercise]:
    async with uow:
        return await uow.exercises.find(
            command.studio, command.query, command.comparisons, command.offset, command.limit
        )


async def create_template(
    uow: ActivityUnitOfWork, command: CreateWorkoutTemplate, clock: Clock = utcnow
) -> WorkoutTemplate:
    if not command.display_name.strip():
        raise InvalidArgument([FieldViolation("workout_template.display_name", "field.required")])
    blocks = validate_blocks(command.blocks, "workout_template.blocks")
    template = WorkoutTemplate(
        uuid.uuid4(),
        command.studio,
        command.display_name,
        command.description,
        blocks,
        f"users/{current_principal().user_id}",
        clock(),
    )
    async with uow:
        await _check_exercises(uow, template)
        await uow.templates.add(template)
        await uow.commit()
    return template


async def get_template(
    uow: ActivityUnitOfWork, owner: str, template_id: uuid.UUID
) -> WorkoutTemplate:
    _may_read(owner)
    async with uow:
        template = await uow.templates.get(owner, template_id)
    if template is None:
        raise NotFound("WORKOUT_TEMPLATE_NOT_FOUND", "workout_template.not_found")
    return template


async def list_templates(
    uow: ActivityUnitOfWork, owner: str, offset: int, limit: int
) -> list[WorkoutTemplate]:
    _may_read(owner)
    async with uow:
        return await uow.templates.newest(owner, offset, limit)


async def copy_template(
    uow: ActivityUnitOfWork,
    member_id: uuid.UUID,
    source_owner: str,
    source_id: uuid.UUID,
    clock: Clock = utcnow,
) -> WorkoutTemplate:
    """The member's own copy of a studio's workout (or of one of theirs), to adapt."""
    source = await get_template(uow, source_owner, source_id)
    member = f"users/{member_id}"
    copy = replace(
        source,
        id=uuid.uuid4(),
        owner=member,
        author=member,
        create_time=clock(),
        source=source.source or source.resource_name,
    )
    async with uow:
        await uow.templates.add(copy)
        await uow.commit()
    return copy


async def update_template(
    uow: ActivityUnitOfWork, member_id: uuid.UUID, template_id: uuid.UUID, changes: TemplateChanges
) -> WorkoutTemplate:
    """A member's edit of their own copy: the parts `changes` holds."""
    if changes.display_name is not None and not changes.display_name.strip():
        raise InvalidArgument([FieldViolation("workout_template.display_name", "field.required")])
    blocks = (
        validate_blocks(changes.blocks, "workout_template.blocks")
        if changes.blocks is not None
        else None
    )
    async with uow:
        current = await uow.templates.get(f"users/{member_id}", template_id)
        if current is None:
            raise NotFound("WORKOUT_TEMPLATE_NOT_FOUND", "workout_template.not_found")
        updated = replace(
            current,
            display_name=current.display_name
            if changes.display_name is None
            else changes.display_name,
            description=current.description if changes.description is None else changes.description,
            blocks=current.blocks if blocks is None else blocks,
        )
        await _check_exercises(uow, updated)
        await uow.templates.replace(updated)
        await uow.commit()
    return updated


def _may_read(owner: str) -> None:
    """A studio's workouts are every member's to read; a member's copies theirs alone."""
    if owner.startswith("users/"):
        require_self_or_role(owner.removeprefix("users/"), "admin")


async def _check_exercises(uow: ActivityUnitOfWork, template: WorkoutTemplate) -> None:
    """Every planned set names an exercise there is, and one its owner may use."""
    known = await uow.exercises.get_many(template.exercises)
    violations = [
        FieldViolation(f"workout_template.blocks[{b}].sets[{s}].exercise", "exercise.not_found")
        for b, block in enumerate(template.blocks)
        for s, planned in enumerate(block.sets)
        if planned.exercise not in known or not _usable_in(known[planned.exercise], template.owner)
    ]
    if violations:
        raise InvalidArgument(violations)


async def upload_session(
    uow: ActivityUnitOfWork,
    command: UploadWorkoutSession,
    notifier: LiveNotifier,
    clock: Clock = utcnow,
) -> WorkoutSession:
    """Merges the upload into the stored session (see `domain.sessions`); on completing it,
    or editing it once completed, keeps the member's records and announces what changed."""
    now = clock()
    validate_upload(command.fields, command.sets, now)
    async with uow:
        await _check_references(uow, command)
        stored = await uow.sessions.locked(command.member_id, command.session_id)
        merged = merge(
            stored, command.member_id, command.session_id, command.fields, command.sets, now
        )
        session = merged.session
        if not merged.changed:
            return session
        await uow.sessions.save(session, merged.changed_sets)
        # In the same transaction as the sets: watchers never hear of a set not stored, and
        # no set is stored without its update.
        appended = await uow.live.append(
            session.member_id,
            session.id,
            upload_changes(merged.changed_sets, stored is None, merged.completed_now),
            now,
        )
        session = replace(
            session, live_sequence=appended[-1].sequence if appended else session.live_sequence
        )
        if session.completed:
            touched = (
                {s.exercise for s in session.live_sets}
                if merged.completed_now
                else set(merged.changed_exercises)
            )
            await uow.records.lock_member(session.member_id)
            await _keep_records(uow, session, touched)
        if merged.completed_now:
            await _keep_streak(uow, session, now)
            _announce_completed(uow, session)
        if session.completed:
            await _check_goals(uow, session, now)
        await uow.commit()
    if appended:
        await notifier.notify(*_topics(session))
    return session


async def get_session(
    uow: ActivityUnitOfWork, member_id: uuid.UUID, session_id: uuid.UUID
) -> WorkoutSession:
    async with uow:
        session = await uow.sessions.get(member_id, session_id)
    if session is None:
        raise NotFound("WORKOUT_SESSION_NOT_FOUND", "workout_session.not_found")
    return session


async def list_sessions(
    uow: ActivityUnitOfWork, member_id: uuid.UUID, offset: int, limit: int
) -> list[WorkoutSession]:
    async with uow:
        return await uow.sessions.latest(member_id, offset, limit)


async def list_records(
    uow: ActivityUnitOfWork, member_id: uuid.UUID, offset: int, limit: int
) -> list[PersonalRecord]:
    async with uow:
        return await uow.records.of_member(member_id, offset, limit)


async def create_program(
    uow: ActivityUnitOfWork, command: CreateProgram, clock: Clock = utcnow
) -> Program:
    if not command.display_name.strip():
        raise InvalidArgument([FieldViolation("program.display_name", "field.required")])
    validate_program(command.weeks, command.days, command.deload_weeks, "program")
    program = Program(
        uuid.uuid4(),
        command.studio,
        command.display_name,
        command.description,
        command.weeks,
        command.days,
        command.deload_weeks,
        command.progression,
        f"users/{current_principal().user_id}",
        clock(),
    )
    async with uow:
        violations = []
        for index, day in enumerate(program.days):
            studio, _, template_id = day.workout_template.partition("/workoutTemplates/")
            if studio != program.studio or await _template(uow, studio, template_id) is None:
                field = f"program.days[{index}].workout_template"
                violations.append(FieldViolation(field, "workout_template.not_found"))
        if violations:
            raise InvalidArgument(violations)
        await uow.programs.add(program)
        await uow.commit()
    return program


async def get_program(uow: ActivityUnitOfWork, studio: str, program_id: uuid.UUID) -> Program:
    async with uow:
        program = await uow.programs.get(studio, program_id)
    if program is None:
        raise NotFound("PROGRAM_NOT_FOUND", "program.not_found")
    return program


async def assign_program(
    uow: ActivityUnitOfWork, command: AssignProgram, clock: Clock = utcnow
) -> Assignment:
    start = validate_assignment_start(command.start_date, command.time_zone)
    program = await get_program(uow, command.studio, command.program_id)
    assignment = Assignment(
        uuid.uuid4(),
        command.member_id,
        program.resource_name,
        start,
        command.time_zone,
        f"users/{current_principal().user_id}",
        clock(),
    )
    async with uow:
        await uow.programs.assign(assignment)
        await uow.commit()
    return assignment


async def list_assignments(
    uow: ActivityUnitOfWork, member_id: uuid.UUID, offset: int, limit: int
) -> list[Assignment]:
    async with uow:
        return await uow.programs.assignments_of(member_id, offset, limit)


async def suggest_next_set(
    uow: ActivityUnitOfWork, command: SuggestNextSet, clock: Clock = utcnow
) -> tuple[Suggestion, int, int]:
    """The suggestion, and the (week, day) of the program the member is on today ((0, 0)
    outside it: the program's first workout with the exercise is planned from then)."""
    async with uow:
        assignment = await uow.programs.assignment(command.member_id, command.assignment_id)
        if assignment is None:
            raise NotFound("PROGRAM_ASSIGNMENT_NOT_FOUND", "program_assignment.not_found")
        studio, _, program_id = assignment.program.partition("/programs/")
        program = await uow.programs.get(studio, uuid.UUID(program_id))
        assert program is not None  # noqa: S101 - programs are never deleted.
        week, day = assignment.position(clock(), program.weeks)
        planned = None
        for scheduled in program.from_day(max(week, 1), max(day, 1)):
            template = await _template(uow, studio, scheduled.workout_template.rsplit("/", 1)[1])
            sets = [p for b in template.blocks for p in b.sets] if template else []
            planned = next((p for p in sets if p.exercise == command.exercise), None)
            if planned is not None:
                break
        if planned is None:
            raise FailedPrecondition("EXERCISE_NOT_IN_PROGRAM", "program.exercise_not_in_program")
        last = await uow.sessions.last_set(command.member_id, command.exercise)
        records = await uow.records.of_exercise(command.member_id, command.exercise)
    estimate = records.get((RecordKind.ESTIMATED_ONE_REP_MAX, 0))
    suggestion = suggest(
        planned,
        last,
        estimate.weight_kg if estimate else None,
        program.progression,
        deload=week in program.deload_weeks,
    )
    return suggestion, week, day


async def set_class_workout(
    uow: ActivityUnitOfWork, class_session: str, template_name: str, clock: Clock = utcnow
) -> tuple[WorkoutTemplate, datetime]:
    """Sets the workout of `class_session` (`studios/{studio}/classSessions/{id}`), one of the
    class's studio's."""
    studio = class_session.partition("/classSessions/")[0]
    template_studio, _, template_id = template_name.partition("/workoutTemplates/")
    now = clock()
    async with uow:
        template = await _template(uow, template_studio, template_id)
        if template is None or template_studio != studio:
            field = "class_workout.workout_template"
            raise InvalidArgument([FieldViolation(field, "workout_template.not_found")])
        await uow.templates.set_class_workout(class_session, template, now)
        await uow.commit()
    return template, now


async def get_class_workout(
    uow: ActivityUnitOfWork, class_session: str
) -> tuple[WorkoutTemplate, datetime]:
    async with uow:
        found = await uow.templates.class_workout(class_session)
    if found is None:
        raise NotFound("CLASS_WORKOUT_NOT_FOUND", "class_workout.not_found")
    return found


async def prepare_class_session(
    envelope: Envelope, uow: ActivityUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes `scheduling.attendance.checked_in`: a member checked in to a class that has a
    workout finds a session of it in progress in their app, named after their booking (so a
    redelivered event finds it there). Its version is 0: the app's first upload of it, at
    version 1 or more, sets its fields as the member logs them."""
    checked_in = BookingChanged()
    envelope.data.Unpack(checked_in)
    found = await uow.templates.class_workout(checked_in.class_session)
    if found is None:
        return
    template, _ = found
    member_id = parse_user_name(checked_in.member, "member")
    session_id = uuid.uuid5(_CLASS_SESSIONS, checked_in.booking)
    if await uow.sessions.locked(member_id, session_id) is not None:
        return
    fields = SessionFields(
        display_name=template.display_name,
        workout_template=template.resource_name,
        class_session=checked_in.class_session,
        state=SessionState.IN_PROGRESS,
        start_time=checked_in.class_start_time.ToDatetime(UTC),
        end_time=None,
        notes="",
        version=0,
    )
    prepared = merge(None, member_id, session_id, fields, (), clock())
    await uow.sessions.save(prepared.session, ())


async def create_goal(uow: ActivityUnitOfWork, command: CreateGoal, clock: Clock = utcnow) -> Goal:
    kind = validate_goal(command.kind, command.exercise, "goal")
    goal = Goal(uuid.uuid4(), command.member_id, kind, command.exercise, command.target, clock())
    async with uow:
        if goal.exercise and await uow.exercises.get(goal.exercise) is None:
            raise InvalidArgument([FieldViolation("goal.exercise", "exercise.not_found")])
        await uow.goals.put(goal)
        await uow.commit()
    return goal


async def list_goals(
    uow: ActivityUnitOfWork,
    member_id: uuid.UUID,
    offset: int,
    limit: int | None,
    clock: Clock = utcnow,
) -> list[tuple[Goal, float]]:
    """The member's goals with where they stand: weekly ones in this week on the clock of the
    member's last session."""
    async with uow:
        goals = await uow.goals.of_member(member_id, offset, limit)
        streak = await uow.streaks.get(member_id)
        zone = streak.time_zone if streak else "UTC"
        progress = await _progress(uow, member_id, goals, zone, week_of(local_day(clock(), zone)))
    return list(zip(goals, progress, strict=True))


async def delete_goal(uow: ActivityUnitOfWork, member_id: uuid.UUID, goal_id: uuid.UUID) -> None:
    async with uow:
        if not await uow.goals.delete(member_id, goal_id):
            raise NotFound("GOAL_NOT_FOUND", "goal.not_found")
        await uow.commit()


async def _check_goals(uow: ActivityUnitOfWork, session: WorkoutSession, now: datetime) -> None:
    """Announces the goals the member reaches with this session (weekly ones in its week)."""
    member_id = session.member_id
    goals = [goal for goal in await uow.goals.of_member(member_id) if not goal.achieved]
    if not goals:
        return
    week = week_of(session.fields.training_day)
    progress = await _progress(uow, member_id, goals, session.fields.time_zone, week)
    names = await uow.exercises.get_many({goal.exercise for goal in goals if goal.exercise})
    for goal, value in zip(goals, progress, strict=True):
        goal_week = week if goal.kind.weekly else None
        if not goal.reached_by(value, goal_week):
            continue
        await uow.goals.put(replace(goal, achieve_time=now, achieved_week=goal_week))
        exercise = names.get(goal.exercise)
        event = events_pb2.GoalAchieved(
            goal=goal.resource_name,
            member=f"users/{member_id}",
            kind=goal.kind.value,
            target=goal.target,
            exercise=goal.exercise,
            exercise_display_name_en=exercise.display_name_en if exercise else "",
            exercise_display_name_ar=exercise.display_name_ar if exercise else "",
            week_start_date=goal_week.isoformat() if goal_week else "",
        )
        uow.publish(GOAL_ACHIEVED, subject=goal.resource_name, payload=event)


async def _progress(
    uow: ActivityUnitOfWork, member_id: uuid.UUID, goals: list[Goal], zone: str, week: date
) -> list[float]:
    """Each goal's standing: the best estimate on its exercise, or the week's sessions or
    kilograms."""
    sessions = volume = 0.0
    if any(goal.kind.weekly for goal in goals):
        start = datetime.combine(week, time(), tzinfo=ZoneInfo(zone))
        worked, count, _ = await uow.streaks.sets_worked(member_id, start, start + ONE_WEEK)
        sessions, volume = count, sum(s.reps * s.weight_kg for s in worked)
    progress = []
    for goal in goals:
        if goal.kind is GoalKind.WEEKLY_SESSIONS:
            progress.append(sessions)
        elif goal.kind is GoalKind.WEEKLY_VOLUME:
            progress.append(volume)
        else:
            records = await uow.records.of_exercise(member_id, goal.exercise)
            estimate = records.get((RecordKind.ESTIMATED_ONE_REP_MAX, 0))
            progress.append(estimate.weight_kg if estimate else 0.0)
    return progress


async def get_consent(uow: ActivityUnitOfWork, member_id: uuid.UUID) -> Consent:
    async with uow:
        return await uow.privacy.consent(member_id)


async def update_consent(
    uow: ActivityUnitOfWork,
    member_id: uuid.UUID,
    changes: dict[str, bool],
    clock: Clock = utcnow,
) -> Consent:
    """Gives or withdraws consent for the kinds in `changes` (of CONSENT_PARTS)."""
    async with uow:
        current = await uow.privacy.consent(member_id)
        updated = Consent(
            member_id,
            heart_rate=changes.get("heart_rate", current.heart_rate),
            location=changes.get("location", current.location),
            sleep=changes.get("sleep", current.sleep),
            update_time=clock(),
        )
        await uow.privacy.put_consent(updated)
        if current.heart_rate and not updated.heart_rate:
            # Withdrawn: what was kept on that consent goes too.
            await uow.live.forget_heart_rates(member_id)
            heart = [kind for kind, data in CONSENT_NEEDED.items() if data is HealthData.HEART_RATE]
            await uow.health.forget(member_id, heart)
        if current.location and not updated.location:
            await uow.routes.forget(member_id)
        await uow.commit()
    return updated


@dataclass(frozen=True)
class MemberExport:
    """A member's data as the export reads it, page by page."""

    consent: Consent
    streak: Streak | None
    records: list[PersonalRecord]
    goals: list[tuple[Goal, float]]
    assignments: list[Assignment]
    best_efforts: list[BestEffort]
    connections: list[ProviderConnection]  # Without their tokens.


async def export_overview(
    new_uow: Callable[[], ActivityUnitOfWork], member_id: uuid.UUID
) -> MemberExport:
    """All but the sessions (`export_sessions` pages through those)."""
    async with new_uow() as uow:
        consent = await uow.privacy.consent(member_id)
        streak = await uow.streaks.get(member_id)
        records = await uow.records.of_member(member_id, 0, None)
        assignments = await uow.programs.assignments_of(member_id, 0, None)
        efforts = await uow.best_efforts.of_member(member_id)
        connections = await uow.connections.of_member(member_id, 0, None)
    goals = await list_goals(new_uow(), member_id, 0, None)
    best_efforts = sorted(efforts.values(), key=lambda effort: effort.distance.meters)
    return MemberExport(consent, streak, records, goals, assignments, best_efforts, connections)


async def export_pages(
    new_uow: Callable[[], ActivityUnitOfWork],
    read: Callable[[ActivityUnitOfWork, int, int], Awaitable[list[Exported]]],
    page_size: int,
) -> AsyncIterator[list[Exported]]:
    """What `read(uow, offset, limit)` finds, a page per unit of work: no transaction stays
    open while the export is written to a slow client."""
    offset = 0
    while True:
        async with new_uow() as uow:
            page = await read(uow, offset, page_size)
        if not page:
            return
        yield page
        offset += len(page)


def export_sessions(
    new_uow: Callable[[], ActivityUnitOfWork], member_id: uuid.UUID, page_size: int
) -> AsyncIterator[list[WorkoutSession]]:
    """The member's sessions, latest first."""
    return export_pages(
        new_uow, lambda uow, offset, limit: uow.sessions.latest(member_id, offset, limit), page_size
    )


def export_health_days(
    new_uow: Callable[[], ActivityUnitOfWork], member_id: uuid.UUID, page_size: int
) -> AsyncIterator[list[Rollup]]:
    """The member's health figures day by day, of each kind and device kind (raw samples,
    kept for weeks, are not exported one by one)."""
    return export_pages(
        new_uow,
        lambda uow, offset, limit: uow.health.day_rollups_of(member_id, offset, limit),
        page_size,
    )


def export_imported(
    new_uow: Callable[[], ActivityUnitOfWork], member_id: uuid.UUID, page_size: int
) -> AsyncIterator[list[ImportedActivity]]:
    """The activities imported from the member's providers and files, latest start first."""
    return export_pages(
        new_uow, lambda uow, offset, limit: uow.imported.latest(member_id, offset, limit), page_size
    )


async def start_deletion(
    uow: ActivityUnitOfWork, member_id: uuid.UUID, clock: Clock = utcnow
) -> tuple[str, PendingDeletion, dict[str, int]]:
    """The confirmation token, when it expires, and what would be deleted."""
    token, pending = new_deletion(member_id, clock())
    async with uow:
        counts = await uow.privacy.counts(member_id)
        await uow.privacy.start_deletion(pending)
        await uow.commit()
    return token, pending, counts


async def delete_member_data(
    new_uow: Callable[[], ActivityUnitOfWork],
    wearables: Providers,
    member_id: uuid.UUID,
    token: str,
    clock: Clock = utcnow,
) -> None:
    """Deletes everything of the member's, if `token` confirms their latest request in time;
    otherwise nothing (a wrong token changes nothing, so no one can cancel a member's request
    either). Their wearable accounts are disconnected first, Stride's access revoked at each
    provider (outside any transaction); if a provider cannot be reached, nothing else is
    deleted yet and the same token, still good, tries again."""
    async with new_uow() as uow:
        await _confirmed_deletion(uow, member_id, token, clock())
        connections = await uow.connections.of_member(member_id, 0, None)
    for connection in connections:
        await providers.disconnect(new_uow, wearables, member_id, connection.provider, clock)
    async with new_uow() as uow:
        await _confirmed_deletion(uow, member_id, token, clock())
        await uow.records.lock_member(member_id)
        await uow.privacy.delete_member(member_id)
        await uow.health.forget(member_id)
        await uow.commit()


async def _confirmed_deletion(
    uow: ActivityUnitOfWork, member_id: uuid.UUID, token: str, now: datetime
) -> None:
    pending = await uow.privacy.pending_deletion(member_id)
    if pending is None or not pending.confirmed_by(token, now):
        raise InvalidArgument(
            [FieldViolation("confirmation_token", "activity_data.invalid_confirmation")]
        )


async def _template(
    uow: ActivityUnitOfWork, studio: str, template_id: str
) -> WorkoutTemplate | None:
    try:
        return await uow.templates.get(studio, uuid.UUID(template_id))
    except ValueError:
        return None


async def record_heart_rate(
    uow: ActivityUnitOfWork,
    command: RecordHeartRate,
    notifier: LiveNotifier,
    default_max_heart_rate: int,
    clock: Clock = utcnow,
) -> list[LiveUpdate]:
    """Stores the readings, with their zones, as the session's next updates."""
    now = clock()
    async with uow:
        session = await uow.sessions.locked(command.member_id, command.session_id)
        if session is None:
            raise NotFound("WORKOUT_SESSION_NOT_FOUND", "workout_session.not_found")
        consent = await uow.privacy.consent(command.member_id)
        if not consent.allows(HealthData.HEART_RATE):
            raise FailedPrecondition("CONSENT_REQUIRED", "data_consent.heart_rate_required")
        changes = heart_rate_changes(session, command.readings, now, default_max_heart_rate)
        updates = await uow.live.append(session.member_id, session.id, changes, now)
        await uow.commit()
    await notifier.notify(*_topics(session))
    return updates


async def check_watch(uow: ActivityUnitOfWork, command: WatchWorkoutSession) -> None:
    """The session exists, and what came after `command.after_sequence` is still kept."""
    async with uow:
        session = await uow.sessions.get(command.member_id, command.session_id)
        if session is None:
            raise NotFound("WORKOUT_SESSION_NOT_FOUND", "workout_session.not_found")
        first_kept = await uow.live.first_kept(command.member_id, command.session_id)
    _check_resumable(command.after_sequence, session.live_sequence, first_kept)


async def watch_session(
    new_uow: Callable[[], ActivityUnitOfWork],
    notifier: LiveNotifier,
    command: WatchWorkoutSession,
    heartbeat_seconds: float,
) -> AsyncGenerator[LiveUpdate | Heartbeat, None]:
    """The session's updates after `command.after_sequence` from the log, then each new one as
    it is stored, in order, none twice; a heartbeat when nothing happened for a while. Call
    `check_watch` first."""
    member_id, session_id = command.member_id, command.session_id
    # Waiting starts before the first read: an update stored between the read and the wait
    # still wakes this watcher.
    with notifier.waiting(session_topic(member_id, session_id)) as wake:
        last = command.after_sequence
        while True:
            wake.clear()
            async with new_uow() as uow:
                updates = await uow.live.after(member_id, session_id, last, LIVE_READ_BATCH)
            for update in updates:
                yield update
                last = update.sequence
            if len(updates) == LIVE_READ_BATCH:
                continue
            try:
                async with asyncio.timeout(heartbeat_seconds):
                    await wake.wait()
            except TimeoutError:
                yield Heartbeat(last)


async def watch_class_heart_rates(
    new_uow: Callable[[], ActivityUnitOfWork],
    notifier: LiveNotifier,
    class_session: str,
    heartbeat_seconds: float,
    min_interval_seconds: float,
) -> AsyncGenerator[list[SessionHeartRate], None]:
    """Every live session's latest heart rate in the class, then those that changed, read at
    most once per `min_interval_seconds`; an empty list when nothing changed for a while."""
    sent: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    loop = asyncio.get_running_loop()
    quiet = True  # Nothing sent for a while (or yet): send the read even if nothing changed.
    with notifier.waiting(class_topic(class_session)) as wake:
        while True:
            wake.clear()
            read_at = loop.time()
            async with new_uow() as uow:
                latest = await uow.live.class_heart_rates(class_session)
            changed = [
                rate
                for rate in latest
                if sent.get((rate.member_id, rate.session_id)) != rate.sequence
            ]
            sent = {(rate.member_id, rate.session_id): rate.sequence for rate in latest}
            if changed or quiet:
                yield changed
            try:
                async with asyncio.timeout(heartbeat_seconds):
                    await wake.wait()
            except TimeoutError:
                quiet = True  # Read again too, in case a wake-up was lost.
                continue
            quiet = False
            # A board many members send readings to is read once a second, not per reading.
            await asyncio.sleep(max(read_at + min_interval_seconds - loop.time(), 0.0))


def _check_resumable(after_sequence: int, last_sequence: int, first_kept: int | None) -> None:
    """A watcher resumes after a sequence the session has reached and whose successors are
    still kept."""
    if after_sequence > last_sequence:
        raise InvalidArgument([FieldViolation("after_sequence", "workout_session.sequence_ahead")])
    if after_sequence < last_sequence and (first_kept is None or first_kept > after_sequence + 1):
        raise FailedPrecondition("LIVE_UPDATES_EXPIRED", "workout_session.updates_expired")


def _topics(session: WorkoutSession) -> tuple[str, ...]:
    """Who to wake after the session's updates are stored."""
    topics = [session_topic(session.member_id, session.id)]
    if session.fields.class_session:
        topics.append(class_topic(session.fields.class_session))
    return tuple(topics)


async def _check_references(uow: ActivityUnitOfWork, command: UploadWorkoutSession) -> None:
    """The exercises the sets name exist, and so does the workout the session follows."""
    known = await uow.exercises.get_many({s.exercise for s in command.sets})
    violations = [
        FieldViolation(f"workout_session.sets[{index}].exercise", "exercise.not_found")
        for index, logged in enumerate(command.sets)
        if logged.exercise not in known
    ]
    template = command.fields.workout_template
    if template:
        owner, _, template_id = template.partition("/workoutTemplates/")
        others = owner.startswith("users/") and owner != f"users/{command.member_id}"
        if others or await _template(uow, owner, template_id) is None:
            violations.append(
                FieldViolation("workout_session.workout_template", "workout_template.not_found")
            )
    if violations:
        raise InvalidArgument(violations)


async def _keep_records(
    uow: ActivityUnitOfWork, session: WorkoutSession, exercises: set[str]
) -> None:
    """Recomputes the member's records on `exercises` from every completed set (an edit may
    raise a record or, corrected, lower one) and announces those this session beat."""
    known = await uow.exercises.get_many(exercises)
    loaded = sorted(name for name, exercise in known.items() if exercise.loaded)
    if not loaded:
        return
    member_id = session.member_id
    for name in loaded:
        best = best_records(member_id, name, await uow.sessions.lifts(member_id, name))
        stored = await uow.records.of_exercise(member_id, name)
        if {r.key: r for r in best} != stored:
            await uow.records.replace(member_id, name, best)
        beaten = [
            found
            for found in improvements(stored, best)
            if found.record.lift.session_id == session.id
        ]
        if beaten:
            exercise = known[name]
            event = events_pb2.PersonalRecordsSet(
                member=f"users/{member_id}",
                workout_session=session.resource_name,
                exercise=name,
                exercise_display_name_en=exercise.display_name_en,
                exercise_display_name_ar=exercise.display_name_ar,
                records=[
                    events_pb2.PersonalRecordsSet.Record(
                        personal_record=found.record.resource_name,
                        kind=found.record.kind.value,
                        reps=found.record.reps,
                        weight_kg=found.record.weight_kg,
                        previous_weight_kg=found.previous.weight_kg if found.previous else 0.0,
                    )
                    for found in beaten
                ],
            )
            event.achieve_time.FromDatetime(max(f.record.lift.achieve_time for f in beaten))
            uow.publish(PERSONAL_RECORD_SET, subject=session.resource_name, payload=event)


async def _keep_streak(uow: ActivityUnitOfWork, session: WorkoutSession, now: datetime) -> None:
    """Counts the session's day and announces a streak it extended (under the member's lock)."""
    member_id = session.member_id
    await uow.streaks.record_day(member_id, session.fields.training_day)
    days = await uow.streaks.days_trained(member_id, STREAK_LOOKBACK_DAYS)
    previous = await uow.streaks.get(member_id)
    late = previous is not None and session.fields.training_day < days[0]
    # A late upload of an earlier day: "today" stays the newest session's.
    zone = previous.time_zone if late and previous is not None else session.fields.time_zone
    current = streak_from(member_id, days, previous, zone, now)
    if current == previous:
        return
    await uow.streaks.put(current)
    if extended(previous, current):
        _announce_streak(uow, STREAK_EXTENDED, current, current.days)


async def announce_broken_streaks(uow: ActivityUnitOfWork, now: datetime, batch: int) -> int:
    """Ends the streaks a whole day went by without (on each member's clock) and announces
    them; returns how many it ended (a whole batch: call again)."""
    async with uow:
        # A lapsed streak's last day is before UTC's today (every zone's today is within a
        # day of it): the database narrows, oldest first, and each member's zone decides. The
        # ones not lapsed yet all have the latest days, so they come last.
        candidates = await uow.streaks.running_before(now.date(), batch)
        ended = [streak for streak in candidates if streak.lapsed(now)]
        for streak in ended:
            await uow.streaks.put(replace(streak, days=0))
            _announce_streak(uow, STREAK_BROKEN, streak, streak.days)
        await uow.commit()
    return len(ended)


def _announce_streak(uow: ActivityUnitOfWork, event_type: str, streak: Streak, days: int) -> None:
    member = f"users/{streak.member_id}"
    event = events_pb2.StreakChanged(
        member=member,
        days=days,
        longest_days=streak.longest,
        last_training_date=streak.last_day.isoformat(),
    )
    uow.publish(event_type, subject=member, payload=event)


async def training_summary(
    uow: ActivityUnitOfWork, member_id: uuid.UUID, start: datetime, end: datetime
) -> tuple[TrainingWeek, Streak | None]:
    """The member's training from `start` to `end`, and their streak."""
    async with uow:
        worked, sessions, in_classes = await uow.streaks.sets_worked(member_id, start, end)
        streak = await uow.streaks.get(member_id)
    return TrainingWeek(sessions, in_classes, muscle_volumes(worked)), streak


def _announce_completed(uow: ActivityUnitOfWork, session: WorkoutSession) -> None:
    fields = session.fields
    event = events_pb2.SessionCompleted(
        workout_session=session.resource_name,
        member=f"users/{session.member_id}",
        workout_template=fields.workout_template,
        class_session=fields.class_session,
        set_count=len(session.live_sets),
        volume_kg=session.volume_kg,
    )
    event.start_time.FromDatetime(fields.start_time)
    if fields.end_time is not None:
        event.end_time.FromDatetime(fields.end_time)
    uow.publish(SESSION_COMPLETED, subject=session.resource_name, payload=event)


def _usable_in(exercise: Exercise, owner: str) -> bool:
    """The library's exercises serve every studio; a studio's own serve that studio and the
    members' own workouts (members train at studios)."""
    return exercise.studio in (None, owner) or owner.startswith("users/")


def _require_known(names: tuple[str, ...], known: dict[str, Exercise], field: str) -> None:
    violations = [
        FieldViolation(f"{field}[{index}]", "exercise.not_found")
        for index, name in enumerate(names)
        if name not in known
    ]
    if violations:
        raise InvalidArgument(violations)
