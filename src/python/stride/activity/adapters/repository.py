"""Loads and stores exercises, workout templates, sessions with their sets, and records."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, func, or_, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel, col, select

from stride.activity.adapters.tables import (
    ActivityRouteRecord,
    BestEffortRecord,
    ClassWorkoutRecord,
    DataConsentRecord,
    ExerciseRecord,
    GoalRecord,
    ImportedActivityRecord,
    LiveUpdateRecord,
    LoggedSetRecord,
    PendingAuthorizationRecord,
    PendingDeletionRecord,
    PersonalRecordRecord,
    ProgramAssignmentRecord,
    ProgramRecord,
    ProviderConnectionRecord,
    StreakRecord,
    TrainingDayRecord,
    WorkoutSessionRecord,
    WorkoutTemplateRecord,
)
from stride.activity.domain.exercises import Exercise, Measurement
from stride.activity.domain.goals import Goal, GoalKind
from stride.activity.domain.live import (
    HeartRate,
    LiveChange,
    LiveUpdate,
    SessionHeartRate,
    UpdateKind,
)
from stride.activity.domain.privacy import Consent, PendingDeletion
from stride.activity.domain.programs import Assignment, Program, ProgramDay, Progression
from stride.activity.domain.records import Lift, PersonalRecord, RecordKind
from stride.activity.domain.sessions import (
    LoggedSet,
    SessionFields,
    SessionState,
    WorkoutSession,
)
from stride.activity.domain.streaks import Streak
from stride.activity.domain.summary import SetWorked
from stride.activity.domain.templates import Block, BlockKind, PlannedSet, WorkoutTemplate
from stride.platform.db.pruning import delete_where_in_batches
from stride.platform.errors import AlreadyExists
from stride.platform.filtering import Comparison

# What a list of exercises filters on (entrypoints' EXERCISE_FILTER): `muscle` and `equipment`
# match any entry of the exercise's list.
_EXERCISE_LISTS: Mapping[str, Any] = {
    "muscle": col(ExerciseRecord.primary_muscles),
    "equipment": col(ExerciseRecord.equipment),
}


class ExerciseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def add(self, exercise: Exercise) -> None:
        self._db.add(_exercise_record(exercise, library_version=0))
        try:
            await self._db.flush()
        except IntegrityError as error:
            raise AlreadyExists("EXERCISE_EXISTS", "exercise.exists") from error

    async def get(self, name: str) -> Exercise | None:
        record = await self._db.get(ExerciseRecord, name)
        return _exercise(record) if record else None

    async def get_many(self, names: Collection[str]) -> dict[str, Exercise]:
        if not names:
            return {}
        found = await self._db.execute(
            select(ExerciseRecord).where(col(ExerciseRecord.name).in_(list(names)))
        )
        return {record.name: _exercise(record) for record in found.scalars()}

    async def find(
        self,
        studio: str,
        query: str,
        comparisons: Sequence[Comparison],
        offset: int,
        limit: int,
    ) -> list[Exercise]:
        """The library's exercises and `studio`'s (if given), by English name."""
        statement = select(ExerciseRecord).where(
            col(ExerciseRecord.studio).in_(["", studio] if studio else [""])
        )
        for word in query.split():
            pattern = f"%{_like_escaped(word)}%"
            statement = statement.where(
                or_(
                    col(ExerciseRecord.display_name_en).ilike(pattern, escape="\\"),
                    col(ExerciseRecord.display_name_ar).ilike(pattern, escape="\\"),
                )
            )
        for comparison in comparisons:
            listed = _EXERCISE_LISTS.get(comparison.field)
            if listed is not None:
                statement = statement.where(listed.contains([comparison.value]))
            else:
                statement = statement.where(col(ExerciseRecord.category) == comparison.value)
        statement = statement.order_by(
            col(ExerciseRecord.display_name_en), col(ExerciseRecord.name)
        )
        found = await self._db.execute(statement.offset(offset).limit(limit))
        return [_exercise(record) for record in found.scalars()]

    async def sync_library(self, exercises: Iterable[Exercise], version: int) -> int:
        """Writes the shipped library over rows an older version wrote; returns how many rows
        changed (none when this version is in already)."""
        rows = [_exercise_record(e, library_version=version).model_dump() for e in exercises]
        if not rows:
            return 0
        result = await self._db.execute(
            _upsert(
                ExerciseRecord,
                rows,
                ("name",),
                where=col(ExerciseRecord.library_version) < version,
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class TemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def set_class_workout(
        self, class_session: str, template: WorkoutTemplate, now: datetime
    ) -> None:
        row = {
            "class_session": class_session,
            "workout_template_id": template.id,
            "update_time": now,
        }
        await self._db.execute(_upsert(ClassWorkoutRecord, [row], ("class_session",)))

    async def class_workout(self, class_session: str) -> tuple[WorkoutTemplate, datetime] | None:
        """The workout `class_session` does, and when it was set."""
        record = await self._db.get(ClassWorkoutRecord, class_session)
        if record is None:
            return None
        template = await self._db.get(WorkoutTemplateRecord, record.workout_template_id)
        assert template is not None  # noqa: S101 - templates are never deleted.
        return _template(template), record.update_time

    async def add(self, template: WorkoutTemplate) -> None:
        self._db.add(
            WorkoutTemplateRecord(
                id=template.id,
                owner=template.owner,
                source=template.source,
                display_name=template.display_name,
                description=template.description,
                blocks=[_block_document(block) for block in template.blocks],
                author=template.author,
                create_time=template.create_time,
            )
        )
        await self._db.flush()

    async def get(self, owner: str, template_id: uuid.UUID) -> WorkoutTemplate | None:
        record = await self._db.get(WorkoutTemplateRecord, template_id)
        return _template(record) if record and record.owner == owner else None

    async def replace(self, template: WorkoutTemplate) -> None:
        """Writes a member's edit of their copy."""
        record = await self._db.get(WorkoutTemplateRecord, template.id, with_for_update=True)
        assert record is not None  # noqa: S101 - only stored templates are edited.
        record.display_name = template.display_name
        record.description = template.description
        record.blocks = [_block_document(block) for block in template.blocks]
        await self._db.flush()

    async def newest(self, owner: str, offset: int, limit: int) -> list[WorkoutTemplate]:
        found = await self._db.execute(
            select(WorkoutTemplateRecord)
            .where(WorkoutTemplateRecord.owner == owner)
            .order_by(col(WorkoutTemplateRecord.create_time).desc(), col(WorkoutTemplateRecord.id))
            .offset(offset)
            .limit(limit)
        )
        return [_template(record) for record in found.scalars()]


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def locked(self, member_id: uuid.UUID, session_id: uuid.UUID) -> WorkoutSession | None:
        """The stored session, if any, with uploads of the same session (a phone and a watch,
        or a retry racing its first attempt) made to wait until this transaction ends — even
        for a session not stored yet, whose row cannot be locked."""
        await self._db.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"activity.session:{member_id}:{session_id}"},
        )
        return await self.get(member_id, session_id)

    async def get(self, member_id: uuid.UUID, session_id: uuid.UUID) -> WorkoutSession | None:
        record = await self._db.get(WorkoutSessionRecord, (member_id, session_id))
        if record is None:
            return None
        sets = await self._sets_of(member_id, [session_id])
        return _session(record, sets.get(session_id, ()))

    async def latest(self, member_id: uuid.UUID, offset: int, limit: int) -> list[WorkoutSession]:
        found = await self._db.execute(
            select(WorkoutSessionRecord)
            .where(WorkoutSessionRecord.member_id == member_id)
            .order_by(col(WorkoutSessionRecord.start_time).desc(), col(WorkoutSessionRecord.id))
            .offset(offset)
            .limit(limit)
        )
        records = list(found.scalars())
        sets = await self._sets_of(member_id, [record.id for record in records])
        return [_session(record, sets.get(record.id, ())) for record in records]

    async def save(self, session: WorkoutSession, changed_sets: Sequence[LoggedSet]) -> None:
        """Writes the session's fields and the sets that changed."""
        fields = session.fields
        row = {
            "member_id": session.member_id,
            "id": session.id,
            "display_name": fields.display_name,
            "workout_template": fields.workout_template,
            "class_session": fields.class_session,
            "state": fields.state.value,
            "start_time": fields.start_time,
            "end_time": fields.end_time,
            "notes": fields.notes,
            "version": fields.version,
            "update_time": session.update_time,
            "complete_time": session.complete_time,
            "time_zone": fields.time_zone,
            "max_heart_rate": fields.max_heart_rate,
        }
        await self._db.execute(_upsert(WorkoutSessionRecord, [row], ("member_id", "id")))
        if not changed_sets:
            return
        rows = [
            {**asdict(logged), "member_id": session.member_id, "session_id": session.id}
            for logged in changed_sets
        ]
        await self._db.execute(_upsert(LoggedSetRecord, rows, ("member_id", "session_id", "id")))

    async def lifts(self, member_id: uuid.UUID, exercise: str) -> list[Lift]:
        """The member's sets of `exercise` that count for records: not deleted, with a load
        and reps, in completed sessions."""
        found = await self._db.execute(
            sa.select(
                col(LoggedSetRecord.session_id),
                col(LoggedSetRecord.id),
                col(LoggedSetRecord.weight_kg),
                col(LoggedSetRecord.reps),
                func.coalesce(
                    col(LoggedSetRecord.complete_time), col(WorkoutSessionRecord.end_time)
                ),
            )
            .join(
                WorkoutSessionRecord,
                (col(WorkoutSessionRecord.member_id) == col(LoggedSetRecord.member_id))
                & (col(WorkoutSessionRecord.id) == col(LoggedSetRecord.session_id)),
            )
            .where(
                col(LoggedSetRecord.member_id) == member_id,
                col(LoggedSetRecord.exercise) == exercise,
                col(LoggedSetRecord.deleted).is_(False),
                col(LoggedSetRecord.weight_kg) > 0,
                col(LoggedSetRecord.reps) > 0,
                col(WorkoutSessionRecord.state) == SessionState.COMPLETED.value,
            )
        )
        return [
            Lift(session_id, set_id, weight_kg, reps, achieve_time)
            for session_id, set_id, weight_kg, reps, achieve_time in found.all()
        ]

    async def last_set(self, member_id: uuid.UUID, exercise: str) -> LoggedSet | None:
        """The member's latest set of `exercise` in a completed session, not deleted."""
        found = await self._db.execute(
            select(LoggedSetRecord)
            .join(
                WorkoutSessionRecord,
                (col(WorkoutSessionRecord.member_id) == col(LoggedSetRecord.member_id))
                & (col(WorkoutSessionRecord.id) == col(LoggedSetRecord.session_id)),
            )
            .where(
                col(LoggedSetRecord.member_id) == member_id,
                col(LoggedSetRecord.exercise) == exercise,
                col(LoggedSetRecord.deleted).is_(False),
                col(WorkoutSessionRecord.state) == SessionState.COMPLETED.value,
            )
            .order_by(
                func.coalesce(
                    col(LoggedSetRecord.complete_time), col(WorkoutSessionRecord.end_time)
                ).desc(),
                col(LoggedSetRecord.position).desc(),
            )
            .limit(1)
        )
        record = found.scalars().first()
        return _logged_set(record) if record else None

    async def _sets_of(
        self, member_id: uuid.UUID, session_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[LoggedSet, ...]]:
        if not session_ids:
            return {}
        found = await self._db.execute(
            select(LoggedSetRecord)
            .where(
                LoggedSetRecord.member_id == member_id,
                col(LoggedSetRecord.session_id).in_(list(session_ids)),
            )
            .order_by(col(LoggedSetRecord.position), col(LoggedSetRecord.id))
        )
        sets: dict[uuid.UUID, list[LoggedSet]] = {}
        for record in found.scalars():
            sets.setdefault(record.session_id, []).append(_logged_set(record))
        return {session_id: tuple(values) for session_id, values in sets.items()}


class RecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def lock_member(self, member_id: uuid.UUID) -> None:
        """Record and streak keeping for one member, one transaction at a time: two sessions
        completing together must not each see the other's records or day as not there."""
        await self._db.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"activity.records:{member_id}"},
        )

    async def of_exercise(
        self, member_id: uuid.UUID, exercise: str
    ) -> dict[tuple[RecordKind, int], PersonalRecord]:
        found = await self._db.execute(
            select(PersonalRecordRecord).where(
                PersonalRecordRecord.member_id == member_id,
                PersonalRecordRecord.exercise == exercise,
            )
        )
        records = (_record(row) for row in found.scalars())
        return {record.key: record for record in records}

    async def replace(
        self, member_id: uuid.UUID, exercise: str, records: Sequence[PersonalRecord]
    ) -> None:
        await self._db.execute(
            delete(PersonalRecordRecord).where(
                col(PersonalRecordRecord.member_id) == member_id,
                col(PersonalRecordRecord.exercise) == exercise,
            )
        )
        if records:
            await self._db.execute(
                insert(PersonalRecordRecord).values([_record_row(r) for r in records])
            )

    async def of_member(
        self, member_id: uuid.UUID, offset: int, limit: int | None
    ) -> list[PersonalRecord]:
        found = await self._db.execute(
            select(PersonalRecordRecord)
            .where(PersonalRecordRecord.member_id == member_id)
            .order_by(
                col(PersonalRecordRecord.exercise),
                col(PersonalRecordRecord.kind),
                col(PersonalRecordRecord.rep_key),
            )
            .offset(offset)
            .limit(limit)
        )
        return [_record(row) for row in found.scalars()]


class StreakRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def record_day(self, member_id: uuid.UUID, day: date) -> None:
        await self._db.execute(
            insert(TrainingDayRecord)
            .values(member_id=member_id, day=day)
            .on_conflict_do_nothing(index_elements=["member_id", "day"])
        )

    async def days_trained(self, member_id: uuid.UUID, most: int) -> list[date]:
        """The member's latest `most` training days, newest first."""
        found = await self._db.execute(
            select(col(TrainingDayRecord.day))
            .where(col(TrainingDayRecord.member_id) == member_id)
            .order_by(col(TrainingDayRecord.day).desc())
            .limit(most)
        )
        return list(found.scalars())

    async def get(self, member_id: uuid.UUID) -> Streak | None:
        record = await self._db.get(StreakRecord, member_id)
        return _streak(record) if record else None

    async def put(self, streak: Streak) -> None:
        row = {
            "member_id": streak.member_id,
            "days": streak.days,
            "longest": streak.longest,
            "last_day": streak.last_day,
            "time_zone": streak.time_zone,
        }
        await self._db.execute(_upsert(StreakRecord, [row], ("member_id",)))

    async def running_before(self, day: date, most: int) -> list[Streak]:
        """Up to `most` running streaks last extended before `day`, locked; ones another
        sweeper holds are skipped."""
        found = await self._db.execute(
            select(StreakRecord)
            .where(col(StreakRecord.days) > 0, col(StreakRecord.last_day) < day)
            .order_by(col(StreakRecord.last_day))
            .limit(most)
            .with_for_update(skip_locked=True)
        )
        return [_streak(record) for record in found.scalars()]

    async def sets_worked(
        self, member_id: uuid.UUID, start: datetime, end: datetime
    ) -> tuple[list[SetWorked], int, int]:
        """The sets of the member's sessions completed in [start, end), with their exercises'
        muscles; and how many sessions, and of those in classes."""
        sessions = await self._db.execute(
            sa.select(
                func.count(),
                func.count().filter(col(WorkoutSessionRecord.class_session) != ""),
            ).where(*_completed_between(member_id, start, end))
        )
        session_count, class_count = sessions.one()
        found = await self._db.execute(
            sa.select(
                col(ExerciseRecord.primary_muscles),
                col(ExerciseRecord.secondary_muscles),
                col(LoggedSetRecord.reps),
                col(LoggedSetRecord.weight_kg),
            )
            .join(
                WorkoutSessionRecord,
                (col(WorkoutSessionRecord.member_id) == col(LoggedSetRecord.member_id))
                & (col(WorkoutSessionRecord.id) == col(LoggedSetRecord.session_id)),
            )
            .join(ExerciseRecord, col(ExerciseRecord.name) == col(LoggedSetRecord.exercise))
            .where(
                col(LoggedSetRecord.member_id) == member_id,
                col(LoggedSetRecord.deleted).is_(False),
                *_completed_between(member_id, start, end),
            )
        )
        worked = [
            SetWorked(tuple(primary), tuple(secondary), reps, weight_kg)
            for primary, secondary, reps, weight_kg in found.all()
        ]
        return worked, int(session_count), int(class_count)


def _completed_between(member_id: uuid.UUID, start: datetime, end: datetime) -> list[Any]:
    return [
        col(WorkoutSessionRecord.member_id) == member_id,
        col(WorkoutSessionRecord.state) == SessionState.COMPLETED.value,
        col(WorkoutSessionRecord.start_time) >= start,
        col(WorkoutSessionRecord.start_time) < end,
    ]


def _streak(record: StreakRecord) -> Streak:
    return Streak(record.member_id, record.days, record.longest, record.last_day, record.time_zone)


class GoalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def put(self, goal: Goal) -> None:
        row = {
            "member_id": goal.member_id,
            "id": goal.id,
            "kind": goal.kind.value,
            "exercise": goal.exercise,
            "target": goal.target,
            "create_time": goal.create_time,
            "achieve_time": goal.achieve_time,
            "achieved_week": goal.achieved_week,
        }
        await self._db.execute(_upsert(GoalRecord, [row], ("member_id", "id")))

    async def of_member(
        self, member_id: uuid.UUID, offset: int = 0, limit: int | None = None
    ) -> list[Goal]:
        """Newest first."""
        found = await self._db.execute(
            select(GoalRecord)
            .where(col(GoalRecord.member_id) == member_id)
            .order_by(col(GoalRecord.create_time).desc(), col(GoalRecord.id))
            .offset(offset)
            .limit(limit)
        )
        return [_goal(record) for record in found.scalars()]

    async def delete(self, member_id: uuid.UUID, goal_id: uuid.UUID) -> bool:
        deleted = await self._db.execute(
            delete(GoalRecord).where(
                col(GoalRecord.member_id) == member_id, col(GoalRecord.id) == goal_id
            )
        )
        return bool(deleted.rowcount)  # type: ignore[attr-defined]


def _goal(record: GoalRecord) -> Goal:
    return Goal(
        id=record.id,
        member_id=record.member_id,
        kind=GoalKind(record.kind),
        exercise=record.exercise,
        target=record.target,
        create_time=record.create_time,
        achieve_time=record.achieve_time,
        achieved_week=record.achieved_week,
    )


# Every table holding a member's data, children before parents: what deleting a member's data
# empties (a table added later belongs here too; tests/activity/privacy_test.py checks).
MEMBER_TABLES: tuple[type[SQLModel], ...] = (
    ActivityRouteRecord,
    ImportedActivityRecord,
    BestEffortRecord,
    PendingAuthorizationRecord,
    ProviderConnectionRecord,
    LiveUpdateRecord,
    LoggedSetRecord,
    WorkoutSessionRecord,
    PersonalRecordRecord,
    GoalRecord,
    StreakRecord,
    TrainingDayRecord,
    ProgramAssignmentRecord,
    DataConsentRecord,
    PendingDeletionRecord,
)


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def consent(self, member_id: uuid.UUID, *, lock: bool = False) -> Consent:
        """The member's consent; none given yet is none. Locked, it cannot be withdrawn until
        the transaction ends (what is kept on it is kept before a withdrawal deletes it)."""
        record = await self._db.get(DataConsentRecord, member_id, with_for_update=lock)
        if record is None:
            return Consent(member_id)
        return Consent(
            member_id, record.heart_rate, record.location, record.sleep, record.update_time
        )

    async def put_consent(self, consent: Consent) -> None:
        row = {
            "member_id": consent.member_id,
            "heart_rate": consent.heart_rate,
            "location": consent.location,
            "sleep": consent.sleep,
            "update_time": consent.update_time,
        }
        await self._db.execute(_upsert(DataConsentRecord, [row], ("member_id",)))

    async def start_deletion(self, pending: PendingDeletion) -> None:
        """Replaces any earlier request: only the latest token confirms."""
        row = {
            "member_id": pending.member_id,
            "token_digest": pending.token_digest,
            "expire_time": pending.expire_time,
        }
        await self._db.execute(_upsert(PendingDeletionRecord, [row], ("member_id",)))

    async def pending_deletion(self, member_id: uuid.UUID) -> PendingDeletion | None:
        record = await self._db.get(PendingDeletionRecord, member_id, with_for_update=True)
        if record is None:
            return None
        return PendingDeletion(record.member_id, record.token_digest, record.expire_time)

    async def counts(self, member_id: uuid.UUID) -> dict[str, int]:
        """How many sessions, records and goals the member has."""
        counted = {}
        for name, table in (
            ("workout_sessions", WorkoutSessionRecord),
            ("personal_records", PersonalRecordRecord),
            ("goals", GoalRecord),
        ):
            found = await self._db.execute(
                sa.select(func.count()).where(col(table.member_id) == member_id)
            )
            counted[name] = int(found.scalar_one())
        return counted

    async def delete_member(self, member_id: uuid.UUID) -> None:
        for table in MEMBER_TABLES:
            member_column = table.__table__.c.member_id  # type: ignore[attr-defined]
            await self._db.execute(delete(table).where(member_column == member_id))


class ProgramRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def add(self, program: Program) -> None:
        self._db.add(
            ProgramRecord(
                id=program.id,
                studio=program.studio,
                display_name=program.display_name,
                description=program.description,
                weeks=program.weeks,
                days=[[d.week, d.day, d.workout_template] for d in program.days],
                deload_weeks=list(program.deload_weeks),
                progression=asdict(program.progression),
                author=program.author,
                create_time=program.create_time,
            )
        )
        await self._db.flush()

    async def get(self, studio: str, program_id: uuid.UUID) -> Program | None:
        record = await self._db.get(ProgramRecord, program_id)
        if record is None or record.studio != studio:
            return None
        return Program(
            id=record.id,
            studio=record.studio,
            display_name=record.display_name,
            description=record.description,
            weeks=record.weeks,
            days=tuple(ProgramDay(week, day, template) for week, day, template in record.days),
            deload_weeks=tuple(record.deload_weeks),
            progression=Progression(**record.progression),
            author=record.author,
            create_time=record.create_time,
        )

    async def assign(self, assignment: Assignment) -> None:
        self._db.add(_assignment_record(assignment))
        await self._db.flush()

    async def assignment(self, member_id: uuid.UUID, assignment_id: uuid.UUID) -> Assignment | None:
        record = await self._db.get(ProgramAssignmentRecord, (member_id, assignment_id))
        return await self._assignment(record) if record else None

    async def assignments_of(
        self, member_id: uuid.UUID, offset: int, limit: int | None
    ) -> list[Assignment]:
        found = await self._db.execute(
            select(ProgramAssignmentRecord)
            .where(col(ProgramAssignmentRecord.member_id) == member_id)
            .order_by(
                col(ProgramAssignmentRecord.start_date).desc(), col(ProgramAssignmentRecord.id)
            )
            .offset(offset)
            .limit(limit)
        )
        return [await self._assignment(record) for record in found.scalars()]

    async def _assignment(self, record: ProgramAssignmentRecord) -> Assignment:
        program = await self._db.get(ProgramRecord, record.program_id)
        assert program is not None  # noqa: S101 - programs are never deleted.
        return Assignment(
            id=record.id,
            member_id=record.member_id,
            program=f"{program.studio}/programs/{program.id}",
            start_date=record.start_date,
            time_zone=record.time_zone,
            assigned_by=record.assigned_by,
            create_time=record.create_time,
        )


def _assignment_record(assignment: Assignment) -> ProgramAssignmentRecord:
    return ProgramAssignmentRecord(
        member_id=assignment.member_id,
        id=assignment.id,
        program_id=uuid.UUID(assignment.program.rsplit("/", 1)[1]),
        start_date=assignment.start_date,
        time_zone=assignment.time_zone,
        assigned_by=assignment.assigned_by,
        create_time=assignment.create_time,
    )


def _upsert(
    table: type[SQLModel], rows: list[dict[str, Any]], keys: tuple[str, ...], where: Any = None
) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE the other columns given (only `where` it holds):
    each row written whole, new or not."""
    statement = insert(table).values(rows)
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={column: statement.excluded[column] for column in rows[0] if column not in keys},
        where=where,
    )


def _like_escaped(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _exercise_record(exercise: Exercise, library_version: int) -> ExerciseRecord:
    return ExerciseRecord(
        name=exercise.name,
        studio=exercise.studio or "",
        display_name_en=exercise.display_name_en,
        display_name_ar=exercise.display_name_ar,
        category=exercise.category,
        mechanics=exercise.mechanics,
        measurement=exercise.measurement.value,
        primary_muscles=list(exercise.primary_muscles),
        secondary_muscles=list(exercise.secondary_muscles),
        equipment=list(exercise.equipment),
        image_uri=exercise.image_uri,
        video_uri=exercise.video_uri,
        alternatives=list(exercise.alternatives),
        instructions_en=exercise.instructions_en,
        instructions_ar=exercise.instructions_ar,
        library_version=library_version,
    )


def _exercise(record: ExerciseRecord) -> Exercise:
    return Exercise(
        name=record.name,
        display_name_en=record.display_name_en,
        display_name_ar=record.display_name_ar,
        category=record.category,
        mechanics=record.mechanics,
        measurement=Measurement(record.measurement),
        primary_muscles=tuple(record.primary_muscles),
        secondary_muscles=tuple(record.secondary_muscles),
        equipment=tuple(record.equipment),
        image_uri=record.image_uri,
        video_uri=record.video_uri,
        alternatives=tuple(record.alternatives),
        instructions_en=record.instructions_en,
        instructions_ar=record.instructions_ar,
    )


def _block_document(block: Block) -> dict[str, Any]:
    return {
        "kind": block.kind.value,
        "rounds": block.rounds,
        "time_cap_seconds": block.time_cap_seconds,
        "interval_seconds": block.interval_seconds,
        "sets": [asdict(planned) for planned in block.sets],
    }


def _template(record: WorkoutTemplateRecord) -> WorkoutTemplate:
    blocks = tuple(
        Block(
            kind=BlockKind(document["kind"]),
            sets=tuple(PlannedSet(**planned) for planned in document["sets"]),
            rounds=document["rounds"],
            time_cap_seconds=document["time_cap_seconds"],
            interval_seconds=document["interval_seconds"],
        )
        for document in record.blocks
    )
    return WorkoutTemplate(
        record.id,
        record.owner,
        record.display_name,
        record.description,
        blocks,
        record.author,
        record.create_time,
        record.source,
    )


class LiveUpdateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def append(
        self,
        member_id: uuid.UUID,
        session_id: uuid.UUID,
        changes: Sequence[LiveChange],
        now: datetime,
    ) -> list[LiveUpdate]:
        """Numbers `changes` after the session's last update and stores them. The caller holds
        the session's lock (`SessionRepository.locked`) until it commits, so the numbers
        become visible in order: a watcher never sees 8 before 7."""
        if not changes:
            return []
        moved = await self._db.execute(
            sa.update(WorkoutSessionRecord)
            .where(
                col(WorkoutSessionRecord.member_id) == member_id,
                col(WorkoutSessionRecord.id) == session_id,
            )
            .values(live_sequence=col(WorkoutSessionRecord.live_sequence) + len(changes))
            .returning(col(WorkoutSessionRecord.live_sequence))
        )
        last = int(moved.scalar_one())
        updates = [
            LiveUpdate(member_id, session_id, sequence, now, change)
            for sequence, change in enumerate(changes, start=last - len(changes) + 1)
        ]
        await self._db.execute(
            insert(LiveUpdateRecord).values(
                [
                    {
                        "member_id": member_id,
                        "session_id": session_id,
                        "sequence": update.sequence,
                        "kind": update.change.kind.value,
                        "payload": _change_document(update.change),
                        "create_time": now,
                    }
                    for update in updates
                ]
            )
        )
        return updates

    async def after(
        self, member_id: uuid.UUID, session_id: uuid.UUID, after_sequence: int, limit: int
    ) -> list[LiveUpdate]:
        """The session's kept updates after `after_sequence`, oldest first."""
        found = await self._db.execute(
            select(LiveUpdateRecord)
            .where(
                LiveUpdateRecord.member_id == member_id,
                LiveUpdateRecord.session_id == session_id,
                col(LiveUpdateRecord.sequence) > after_sequence,
            )
            .order_by(col(LiveUpdateRecord.sequence))
            .limit(limit)
        )
        return [_live_update(record) for record in found.scalars()]

    async def forget_heart_rates(self, member_id: uuid.UUID) -> None:
        """Deletes the member's heart-rate readings from their live sessions' logs."""
        await self._db.execute(
            delete(LiveUpdateRecord).where(
                col(LiveUpdateRecord.member_id) == member_id,
                col(LiveUpdateRecord.kind) == UpdateKind.HEART_RATE.value,
            )
        )

    async def first_kept(self, member_id: uuid.UUID, session_id: uuid.UUID) -> int | None:
        """The sequence of the session's oldest update still kept; None when none is."""
        found = await self._db.execute(
            sa.select(func.min(col(LiveUpdateRecord.sequence))).where(
                col(LiveUpdateRecord.member_id) == member_id,
                col(LiveUpdateRecord.session_id) == session_id,
            )
        )
        first = found.scalar_one_or_none()
        return None if first is None else int(first)

    async def class_heart_rates(self, class_session: str) -> list[SessionHeartRate]:
        """The latest heart rate of each session in progress in `class_session`."""
        latest = (
            select(LiveUpdateRecord)
            .where(
                col(LiveUpdateRecord.member_id) == col(WorkoutSessionRecord.member_id),
                col(LiveUpdateRecord.session_id) == col(WorkoutSessionRecord.id),
                LiveUpdateRecord.kind == UpdateKind.HEART_RATE.value,
            )
            .order_by(col(LiveUpdateRecord.sequence).desc())
            .limit(1)
            .lateral("latest")
        )
        latest_record = aliased(LiveUpdateRecord, latest)
        found = await self._db.execute(
            sa.select(latest_record)
            .select_from(WorkoutSessionRecord)
            .join(latest, sa.true())
            # Only members who let their heart rate be shown (a withdrawal hides it at once).
            .join(
                DataConsentRecord,
                (col(DataConsentRecord.member_id) == col(WorkoutSessionRecord.member_id))
                & col(DataConsentRecord.heart_rate),
            )
            .where(
                col(WorkoutSessionRecord.class_session) == class_session,
                col(WorkoutSessionRecord.class_session) != "",
                col(WorkoutSessionRecord.state) == SessionState.IN_PROGRESS.value,
            )
            .order_by(col(WorkoutSessionRecord.member_id), col(WorkoutSessionRecord.id))
        )
        return [
            SessionHeartRate(
                record.member_id, record.session_id, record.sequence, _heart_rate(record.payload)
            )
            for record in found.scalars()
        ]


async def prune_live_updates(
    sessions: async_sessionmaker[AsyncSession], older_than: datetime
) -> int:
    """Deletes the updates stored before `older_than`, a batch at a time; how many."""
    return await delete_where_in_batches(
        sessions,
        LiveUpdateRecord,
        (
            col(LiveUpdateRecord.member_id),
            col(LiveUpdateRecord.session_id),
            col(LiveUpdateRecord.sequence),
        ),
        col(LiveUpdateRecord.create_time) < older_than,
    )


def _change_document(change: LiveChange) -> dict[str, Any]:
    if change.logged_set is not None:
        logged = change.logged_set
        document = asdict(logged) | {"id": str(logged.id)}
        document["complete_time"] = (
            logged.complete_time.isoformat() if logged.complete_time else None
        )
        return document
    if change.heart_rate is not None:
        reading = change.heart_rate
        return {"time": reading.time.isoformat(), "bpm": reading.bpm, "zone": reading.zone}
    if change.state is None:
        raise ValueError(f"a {change.kind.value} update that says nothing")
    return {"state": change.state.value}


def _live_update(record: LiveUpdateRecord) -> LiveUpdate:
    kind, payload = UpdateKind(record.kind), record.payload
    if kind is UpdateKind.SET:
        complete_time = payload["complete_time"]
        change = LiveChange(
            kind,
            logged_set=LoggedSet(
                **payload
                | {
                    "id": uuid.UUID(payload["id"]),
                    "complete_time": datetime.fromisoformat(complete_time)
                    if complete_time
                    else None,
                }
            ),
        )
    elif kind is UpdateKind.HEART_RATE:
        change = LiveChange(kind, heart_rate=_heart_rate(payload))
    else:
        change = LiveChange(kind, state=SessionState(payload["state"]))
    return LiveUpdate(
        record.member_id, record.session_id, record.sequence, record.create_time, change
    )


def _heart_rate(payload: Mapping[str, Any]) -> HeartRate:
    return HeartRate(datetime.fromisoformat(payload["time"]), payload["bpm"], payload["zone"])


def _session(record: WorkoutSessionRecord, sets: tuple[LoggedSet, ...]) -> WorkoutSession:
    fields = SessionFields(
        display_name=record.display_name,
        workout_template=record.workout_template,
        class_session=record.class_session,
        state=SessionState(record.state),
        start_time=record.start_time,
        end_time=record.end_time,
        notes=record.notes,
        version=record.version,
        time_zone=record.time_zone,
        max_heart_rate=record.max_heart_rate,
    )
    return WorkoutSession(
        record.member_id,
        record.id,
        fields,
        sets,
        record.update_time,
        record.complete_time,
        record.live_sequence,
    )


def _logged_set(record: LoggedSetRecord) -> LoggedSet:
    return LoggedSet(
        id=record.id,
        exercise=record.exercise,
        position=record.position,
        reps=record.reps,
        weight_kg=record.weight_kg,
        reps_in_reserve=record.reps_in_reserve,
        rpe=record.rpe,
        duration_seconds=record.duration_seconds,
        distance_meters=record.distance_meters,
        complete_time=record.complete_time,
        version=record.version,
        deleted=record.deleted,
    )


def _record_row(record: PersonalRecord) -> dict[str, Any]:
    kind, rep_key = record.key
    return {
        "member_id": record.member_id,
        "exercise": record.exercise,
        "kind": kind.value,
        "rep_key": rep_key,
        "reps": record.reps,
        "weight_kg": record.weight_kg,
        "set_weight_kg": record.lift.weight_kg,
        "session_id": record.lift.session_id,
        "set_id": record.lift.set_id,
        "achieve_time": record.lift.achieve_time,
    }


def _record(row: PersonalRecordRecord) -> PersonalRecord:
    lift = Lift(row.session_id, row.set_id, row.set_weight_kg, row.reps, row.achieve_time)
    return PersonalRecord(
        row.member_id, row.exercise, RecordKind(row.kind), row.reps, row.weight_kg, lift
    )
