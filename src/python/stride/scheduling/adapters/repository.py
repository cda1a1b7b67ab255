"""Loads and stores studios, rooms, class types, classes and bookings."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import case, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from stride.platform.errors import AlreadyExists
from stride.platform.filtering import Comparison
from stride.scheduling.adapters.tables import (
    BookingRecord,
    ClassSessionRecord,
    ClassTypeRecord,
    InstructorAvailabilityRecord,
    RoomRecord,
    StudioRecord,
)
from stride.scheduling.domain.availability import Availability, Window
from stride.scheduling.domain.model import (
    Booking,
    BookingPolicy,
    BookingState,
    ClassSession,
    ClassType,
    Room,
    Studio,
)

ACTIVE_STATES = (BookingState.CONFIRMED.value, BookingState.WAITLISTED.value)
# The fields a list of classes is filtered on (entrypoints/class_protos' CLASS_FILTER), as
# columns to compare with the domain's values: ids for class types and rooms.
_CLASS_FILTERS: Mapping[str, Any] = {
    "start_time": col(ClassSessionRecord.start_time),
    "class_type": col(ClassSessionRecord.class_type_id),
    "room": col(ClassSessionRecord.room_id),
    "instructor": col(ClassSessionRecord.instructor),
    "free_spots": case(  # As ClassSession.free_spots counts them.
        (
            col(ClassSessionRecord.cancelled_at).is_(None),
            func.greatest(
                col(ClassSessionRecord.capacity) - col(ClassSessionRecord.confirmed_count), 0
            ),
        ),
        else_=0,
    ),
}


class StudioRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def add_studio(self, studio: Studio) -> None:
        policy = studio.policy
        self._db.add(
            StudioRecord(
                slug=studio.slug,
                display_name=studio.display_name,
                time_zone=studio.time_zone,
                booking_window_days=policy.booking_window_days,
                booking_cutoff_minutes=policy.booking_cutoff_minutes,
                late_cancel_hours=policy.late_cancel_hours,
                max_active_bookings=policy.max_active_bookings,
            )
        )
        try:
            await self._db.flush()
        except IntegrityError as error:
            raise AlreadyExists("STUDIO_EXISTS", "studio.exists") from error

    async def studio(self, slug: str) -> Studio | None:
        record = await self._db.get(StudioRecord, slug)
        if record is None:
            return None
        policy = BookingPolicy(
            record.booking_window_days,
            record.booking_cutoff_minutes,
            record.late_cancel_hours,
            record.max_active_bookings,
        )
        return Studio(record.slug, record.display_name, record.time_zone, policy)

    async def add_room(self, room: Room) -> None:
        self._db.add(
            RoomRecord(
                id=room.id,
                studio=room.studio,
                display_name=room.display_name,
                capacity=room.capacity,
                spots=list(room.spots) or None,
            )
        )
        await self._db.flush()

    async def room(self, studio: str, room_id: uuid.UUID) -> Room | None:
        record = await self._db.get(RoomRecord, room_id)
        if record is None or record.studio != studio:
            return None
        return Room(
            record.id,
            record.studio,
            record.display_name,
            record.capacity,
            tuple(record.spots or ()),
        )

    async def add_class_type(self, class_type: ClassType) -> None:
        self._db.add(
            ClassTypeRecord(
                id=class_type.id,
                studio=class_type.studio,
                display_name_en=class_type.display_name_en,
                display_name_ar=class_type.display_name_ar,
                duration_minutes=class_type.duration_minutes,
                level=class_type.level,
                tags=list(class_type.tags),
            )
        )
        await self._db.flush()

    async def class_type(self, studio: str, class_type_id: uuid.UUID) -> ClassType | None:
        record = await self._db.get(ClassTypeRecord, class_type_id)
        if record is None or record.studio != studio:
            return None
        return ClassType(
            record.id,
            record.studio,
            record.display_name_en,
            record.display_name_ar,
            record.duration_minutes,
            record.level,
            tuple(record.tags or ()),
        )


class AvailabilityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def get(self, studio: str, instructor_id: uuid.UUID) -> Availability | None:
        record = await self._db.get(InstructorAvailabilityRecord, (studio, instructor_id))
        return _availability(json.loads(record.document)) if record else None

    async def locked(self, studio: str, instructor_id: uuid.UUID) -> Availability:
        """The stored availability (none yet is empty), its row locked until the transaction
        ends, so that updates of one part and of the other apply one after the other."""
        empty = json.dumps(_availability_document(Availability({}, {})))
        await self._db.execute(
            insert(InstructorAvailabilityRecord)
            .values(studio=studio, instructor_id=instructor_id, document=empty)
            .on_conflict_do_nothing(index_elements=["studio", "instructor_id"])
        )
        record = await self._db.execute(
            select(InstructorAvailabilityRecord)
            .where(
                InstructorAvailabilityRecord.studio == studio,
                InstructorAvailabilityRecord.instructor_id == instructor_id,
            )
            .with_for_update()
        )
        return _availability(json.loads(record.scalar_one().document))

    async def put(self, studio: str, instructor_id: uuid.UUID, availability: Availability) -> None:
        document = json.dumps(_availability_document(availability))
        statement = insert(InstructorAvailabilityRecord).values(
            studio=studio, instructor_id=instructor_id, document=document
        )
        await self._db.execute(
            statement.on_conflict_do_update(
                index_elements=["studio", "instructor_id"], set_={"document": document}
            )
        )


def _availability_document(availability: Availability) -> dict[str, Any]:
    def windows(values: tuple[Window, ...]) -> list[list[str]]:
        return [[w.start.isoformat("minutes"), w.end.isoformat("minutes")] for w in values]

    return {
        "weekly": {str(day): windows(ws) for day, ws in availability.weekly.items()},
        "exceptions": {day.isoformat(): windows(ws) for day, ws in availability.exceptions.items()},
    }


def _availability(document: dict[str, Any]) -> Availability:
    def windows(values: list[list[str]]) -> tuple[Window, ...]:
        return tuple(Window(time.fromisoformat(a), time.fromisoformat(b)) for a, b in values)

    return Availability(
        {int(day): windows(ws) for day, ws in document["weekly"].items()},
        {date.fromisoformat(day): windows(ws) for day, ws in document["exceptions"].items()},
    )


class ClassRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def add(self, session: ClassSession) -> None:
        self._db.add(
            ClassSessionRecord(
                id=session.id,
                studio=session.studio,
                class_type_id=session.class_type_id,
                room_id=session.room_id,
                instructor=session.instructor,
                start_time=session.start,
                end_time=session.end,
                capacity=session.capacity,
            )
        )
        await self._db.flush()

    async def get(
        self, studio: str, session_id: uuid.UUID, *, lock: bool = False
    ) -> ClassSession | None:
        """`lock` takes the class's row lock: every booking decision for one class happens one
        at a time, which is what keeps counts exact and the waitlist in arrival order."""
        query = select(ClassSessionRecord).where(
            ClassSessionRecord.id == session_id, ClassSessionRecord.studio == studio
        )
        if lock:
            query = query.with_for_update()
        record = (await self._db.execute(query)).scalar_one_or_none()
        return _to_class(record) if record else None

    async def list(
        self, studio: str, where: Sequence[Comparison], *, offset: int, limit: int
    ) -> list[ClassSession]:
        """The studio's classes meeting every comparison, by start time."""
        query = select(ClassSessionRecord).where(
            ClassSessionRecord.studio == studio,
            *(c.operator.compare(_CLASS_FILTERS[c.field], c.value) for c in where),
        )
        query = query.order_by(col(ClassSessionRecord.start_time), col(ClassSessionRecord.id))
        records = await self._db.execute(query.offset(offset).limit(limit))
        return [_to_class(record) for record in records.scalars().all()]

    async def change_counts(
        self, session_id: uuid.UUID, *, confirmed: int = 0, waitlisted: int = 0
    ) -> None:
        table = ClassSessionRecord
        await self._db.execute(
            update(table)
            .where(col(table.id) == session_id)
            .values(
                confirmed_count=col(table.confirmed_count) + confirmed,
                waitlist_count=col(table.waitlist_count) + waitlisted,
            )
        )

    async def instructor_busy(
        self, instructor: str, start: datetime, end: datetime, other_than: uuid.UUID
    ) -> bool:
        """Whether the instructor teaches another live class overlapping [start, end)."""
        found = await self._db.execute(
            select(ClassSessionRecord.id).where(
                ClassSessionRecord.instructor == instructor,
                col(ClassSessionRecord.id) != other_than,
                col(ClassSessionRecord.cancelled_at).is_(None),
                col(ClassSessionRecord.start_time) < end,
                col(ClassSessionRecord.end_time) > start,
            )
        )
        return found.first() is not None

    async def update_details(self, session: ClassSession) -> None:
        await self._db.execute(
            update(ClassSessionRecord)
            .where(col(ClassSessionRecord.id) == session.id)
            .values(capacity=session.capacity, instructor=session.instructor)
        )

    async def cancel(self, session_id: uuid.UUID, now: datetime) -> None:
        table = ClassSessionRecord
        await self._db.execute(
            update(table)
            .where(col(table.id) == session_id)
            .values(cancelled_at=now, confirmed_count=0, waitlist_count=0)
        )

    async def move(self, session: ClassSession) -> None:
        """A new start and end for the class and for its bookings."""
        await self._db.execute(
            update(ClassSessionRecord)
            .where(col(ClassSessionRecord.id) == session.id)
            .values(start_time=session.start, end_time=session.end)
        )
        await self._db.execute(
            update(BookingRecord)
            .where(col(BookingRecord.session_id) == session.id)
            .values(class_start=session.start)
        )

    async def take_waitlist_seqs(self, session_id: uuid.UUID, count: int) -> int:
        """The first of `count` consecutive waitlist numbers taken for the class."""
        if count == 0:
            return 0
        table = ClassSessionRecord
        taken = await self._db.execute(
            update(table)
            .where(col(table.id) == session_id)
            .values(next_waitlist_seq=col(table.next_waitlist_seq) + count)
            .returning(col(table.next_waitlist_seq))
        )
        return int(taken.scalar_one()) - count


class BookingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def add_many(self, bookings: Sequence[tuple[Booking, int | None]]) -> None:
        """New bookings, each with its waitlist number (None for a confirmed one), in one
        statement."""
        if not bookings:
            return
        rows = [
            {
                "id": booking.id,
                "member_id": booking.member_id,
                "session_id": booking.session_id,
                "studio": booking.studio,
                "state": booking.state.value,
                "waitlist_seq": waitlist_seq,
                "created_at": booking.created_at,
                "class_start": booking.class_start,
                "spot": booking.spot,
            }
            for booking, waitlist_seq in bookings
        ]
        try:
            await self._db.execute(insert(BookingRecord), rows)
        except IntegrityError as error:
            raise AlreadyExists("ALREADY_BOOKED", "booking.already_booked") from error

    async def get(self, booking_id: uuid.UUID, *, lock: bool = False) -> Booking | None:
        query = select(BookingRecord).where(BookingRecord.id == booking_id)
        if lock:
            query = query.with_for_update()
        record = (await self._db.execute(query)).scalar_one_or_none()
        return await self._to_booking(record) if record else None

    async def members_with_active(
        self, session_id: uuid.UUID, members: Collection[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of `members` hold a confirmed or waitlisted booking for the class."""
        if not members:
            return set()
        found = await self._db.execute(
            select(BookingRecord.member_id).where(
                BookingRecord.session_id == session_id,
                col(BookingRecord.member_id).in_(list(members)),
                col(BookingRecord.state).in_(ACTIVE_STATES),
            )
        )
        return set(found.scalars().all())

    async def count_upcoming_active_for(
        self, members: Collection[uuid.UUID], now: datetime
    ) -> dict[uuid.UUID, int]:
        """How many confirmed or waitlisted bookings for classes to come each member holds
        (members without any are left out)."""
        if not members:
            return {}
        counted = await self._db.execute(
            select(BookingRecord.member_id, func.count())
            .where(
                col(BookingRecord.member_id).in_(list(members)),
                col(BookingRecord.state).in_(ACTIVE_STATES),
                col(BookingRecord.class_start) > now,
            )
            .group_by(col(BookingRecord.member_id))
        )
        return {member: int(count) for member, count in counted.all()}

    async def first_waitlisted(self, session_id: uuid.UUID) -> Booking | None:
        found = await self._db.execute(
            select(BookingRecord)
            .where(
                BookingRecord.session_id == session_id,
                BookingRecord.state == BookingState.WAITLISTED.value,
            )
            .order_by(col(BookingRecord.waitlist_seq))
            .limit(1)
            .with_for_update()
        )
        record = found.scalar_one_or_none()
        return await self._to_booking(record) if record else None

    async def taken_spots(self, session_id: uuid.UUID) -> set[str]:
        found = await self._db.execute(
            select(BookingRecord.spot).where(
                BookingRecord.session_id == session_id,
                col(BookingRecord.spot).is_not(None),
                col(BookingRecord.state).in_(
                    (BookingState.CONFIRMED.value, BookingState.ATTENDED.value)
                ),
            )
        )
        held: list[str | None] = list(found.scalars().all())
        return {spot for spot in held if spot}

    async def set_state(
        self,
        booking_id: uuid.UUID,
        state: BookingState,
        now: datetime,
        spot: str | None = None,
    ) -> None:
        """`spot`: the place a booking confirmed from the waitlist takes."""
        values: dict[str, object] = {"state": state.value}
        if state is BookingState.CONFIRMED:
            values["waitlist_seq"] = None
            values["spot"] = spot
        if not state.active:
            values["cancelled_at"] = now
        await self._db.execute(
            update(BookingRecord).where(col(BookingRecord.id) == booking_id).values(**values)
        )

    async def mark_attended(self, booking_id: uuid.UUID, now: datetime) -> None:
        await self._db.execute(
            update(BookingRecord)
            .where(col(BookingRecord.id) == booking_id)
            .values(state=BookingState.ATTENDED.value, checked_in_at=now)
        )

    async def roster(self, session_id: uuid.UUID) -> list[Booking]:
        """Spot holders (confirmed, attended, no-show) by booking time, then the waitlist."""
        holders = (
            BookingState.CONFIRMED.value,
            BookingState.ATTENDED.value,
            BookingState.NO_SHOW.value,
        )
        records = await self._db.execute(
            select(BookingRecord)
            .where(
                BookingRecord.session_id == session_id,
                col(BookingRecord.state).in_((*holders, BookingState.WAITLISTED.value)),
            )
            .order_by(
                col(BookingRecord.state) == BookingState.WAITLISTED.value,
                col(BookingRecord.waitlist_seq),
                col(BookingRecord.created_at),
            )
        )
        return [await self._to_booking(record) for record in records.scalars().all()]

    async def claim_after_class(
        self, state: BookingState, now: datetime, limit: int
    ) -> list[Booking]:
        """Bookings still in `state` for classes that have ended, locked so that replicas
        sweeping at the same time split the work instead of settling one booking twice."""
        records = await self._db.execute(
            select(BookingRecord)
            .join(ClassSessionRecord, col(ClassSessionRecord.id) == col(BookingRecord.session_id))
            .where(
                BookingRecord.state == state.value,
                col(BookingRecord.class_start) < now,
                col(ClassSessionRecord.end_time) < now,
            )
            .limit(limit)
            .with_for_update(of=BookingRecord, skip_locked=True)
        )
        return [await self._to_booking(record) for record in records.scalars().all()]

    async def active_for_class(self, session_id: uuid.UUID) -> list[Booking]:
        records = await self._db.execute(
            select(BookingRecord)
            .where(
                BookingRecord.session_id == session_id,
                col(BookingRecord.state).in_(ACTIVE_STATES),
            )
            .with_for_update()
        )
        return [await self._to_booking(record) for record in records.scalars().all()]

    async def calendar(
        self, member_id: uuid.UUID
    ) -> list[tuple[Booking, ClassSession, str, str, str]]:
        """Each booking that holds or held a spot, with its class, the class type's English and
        Arabic names and the studio's name."""
        holding = (
            BookingState.CONFIRMED.value,
            BookingState.ATTENDED.value,
            BookingState.NO_SHOW.value,
        )
        rows = await self._db.execute(
            select(BookingRecord, ClassSessionRecord, ClassTypeRecord, StudioRecord)
            .join(ClassSessionRecord, col(ClassSessionRecord.id) == col(BookingRecord.session_id))
            .join(ClassTypeRecord, col(ClassTypeRecord.id) == col(ClassSessionRecord.class_type_id))
            .join(StudioRecord, col(StudioRecord.slug) == col(BookingRecord.studio))
            .where(BookingRecord.member_id == member_id, col(BookingRecord.state).in_(holding))
            .order_by(col(BookingRecord.class_start))
            .limit(500)
        )
        return [
            (
                await self._to_booking(booking),
                _to_class(session),
                kind.display_name_en,
                kind.display_name_ar,
                studio.display_name,
            )
            for booking, session, kind, studio in rows.all()
        ]

    async def existing(self, booking_ids: Collection[uuid.UUID]) -> list[Booking]:
        """Those of `booking_ids` that exist."""
        records = await self._db.execute(
            select(BookingRecord).where(col(BookingRecord.id).in_(list(booking_ids)))
        )
        return [await self._to_booking(record) for record in records.scalars().all()]

    async def list_for_member(
        self, member_id: uuid.UUID, *, offset: int, limit: int
    ) -> list[Booking]:
        records = await self._db.execute(
            select(BookingRecord)
            .where(BookingRecord.member_id == member_id)
            .order_by(col(BookingRecord.class_start), col(BookingRecord.id))
            .offset(offset)
            .limit(limit)
        )
        return [await self._to_booking(record) for record in records.scalars().all()]

    async def _to_booking(self, record: BookingRecord) -> Booking:
        position = 0
        if record.state == BookingState.WAITLISTED.value:
            ahead = await self._db.execute(
                select(func.count()).where(
                    BookingRecord.session_id == record.session_id,
                    BookingRecord.state == BookingState.WAITLISTED.value,
                    col(BookingRecord.waitlist_seq) <= record.waitlist_seq,
                )
            )
            position = int(ahead.scalar_one())
        return Booking(
            id=record.id,
            member_id=record.member_id,
            session_id=record.session_id,
            studio=record.studio,
            state=BookingState(record.state),
            created_at=record.created_at,
            class_start=record.class_start,
            waitlist_position=position,
            checked_in_at=record.checked_in_at,
            spot=record.spot,
        )


def _to_class(record: ClassSessionRecord) -> ClassSession:
    return ClassSession(
        id=record.id,
        studio=record.studio,
        class_type_id=record.class_type_id,
        room_id=record.room_id,
        instructor=record.instructor,
        start=record.start_time,
        end=record.end_time,
        capacity=record.capacity,
        confirmed_count=record.confirmed_count,
        waitlist_count=record.waitlist_count,
        cancelled_at=record.cancelled_at,
    )
