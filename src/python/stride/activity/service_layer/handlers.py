"""Activity's use cases: each takes a command (or ids), runs in one unit of work and returns
domain objects. Authorization by audience happened in the interceptor (the contract's
`stride.api.v1.access`); what depends on stored rows is checked here."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Protocol

from stride.activity.domain.exercises import Exercise, studio_exercise_name, validate_exercise
from stride.activity.domain.live import (
    Heartbeat,
    LiveUpdate,
    SessionHeartRate,
    class_topic,
    heart_rate_changes,
    session_topic,
    upload_changes,
)
from stride.activity.domain.records import PersonalRecord, best_records, improvements
from stride.activity.domain.sessions import WorkoutSession, merge, validate_upload
from stride.activity.domain.templates import WorkoutTemplate, validate_blocks
from stride.activity.events.v1 import events_pb2
from stride.activity.service_layer.commands import (
    CreateExercise,
    CreateWorkoutTemplate,
    ListExercises,
    RecordHeartRate,
    UploadWorkoutSession,
    WatchWorkoutSession,
)
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.auth import current_principal
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound

SESSION_COMPLETED = "activity.session.completed.v1"
LIVE_READ_BATCH = 200  # Updates read from the log at a time by a watcher catching up.
PERSONAL_RECORD_SET = "activity.personal_record.set.v1"


class LiveNotifier(Protocol):
    """Wakes the watchers of a topic on every replica (`stride.platform.events.live`)."""

    async def notify(self, *topics: str) -> None:
        ...

    def waiting(self, topic: str) -> AbstractContextManager[asyncio.Event]:
        ...


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
        known = await uow.exercises.get_many(template.exercises)
        violations = [
            FieldViolation(f"workout_template.blocks[{b}].sets[{s}].exercise", "exercise.not_found")
            for b, block in enumerate(blocks)
            for s, planned in enumerate(block.sets)
            if planned.exercise not in known
            or not _usable_in(known[planned.exercise], template.studio)
        ]
        if violations:
            raise InvalidArgument(violations)
        await uow.templates.add(template)
        await uow.commit()
    return template


async def get_template(
    uow: ActivityUnitOfWork, studio: str, template_id: uuid.UUID
) -> WorkoutTemplate:
    async with uow:
        template = await uow.templates.get(studio, template_id)
    if template is None:
        raise NotFound("WORKOUT_TEMPLATE_NOT_FOUND", "workout_template.not_found")
    return template


async def list_templates(
    uow: ActivityUnitOfWork, studio: str, offset: int, limit: int
) -> list[WorkoutTemplate]:
    async with uow:
        return await uow.templates.newest(studio, offset, limit)


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
            await _keep_records(uow, session, touched)
        if merged.completed_now:
            _announce_completed(uow, session)
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
        studio, _, template_id = template.partition("/workoutTemplates/")
        try:
            found = await uow.templates.get(studio, uuid.UUID(template_id))
        except ValueError:
            found = None
        if found is None:
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
    await uow.records.lock_member(member_id)
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


def _usable_in(exercise: Exercise, studio: str) -> bool:
    """The library's exercises serve every studio; a studio's own serve that studio."""
    return exercise.studio in (None, studio)


def _require_known(names: tuple[str, ...], known: dict[str, Exercise], field: str) -> None:
    violations = [
        FieldViolation(f"{field}[{index}]", "exercise.not_found")
        for index, name in enumerate(names)
        if name not in known
    ]
    if violations:
        raise InvalidArgument(violations)
