"""Loads and stores class reminders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from stride.notifications.adapters.tables import ReminderRecord
from stride.notifications.domain.reminders import REMINDER_LEAD, Reminder, ReminderState


class ReminderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def schedule(self, reminder: Reminder, now: datetime) -> None:
        """Arms the booking's reminder for its class (again, if the booking was re-made)."""
        armed = {
            "class_session": reminder.class_session,
            "class_start": reminder.class_start,
            "remind_at": reminder.remind_at,
            "state": ReminderState.PENDING.value,
            "updated_at": now,
        }
        await self._db.execute(
            insert(ReminderRecord)
            .values(booking=reminder.booking, user_id=reminder.user_id, **armed)
            .on_conflict_do_update(index_elements=["booking"], set_=armed)
        )

    async def cancel(self, booking: str, now: datetime) -> None:
        await self._db.execute(
            update(ReminderRecord)
            .where(col(ReminderRecord.booking) == booking)
            .values(state=ReminderState.CANCELLED.value, updated_at=now)
        )

    async def move(self, class_session: str, class_start: datetime, now: datetime) -> None:
        """The class moved: its live reminders follow, sent ones are armed again."""
        await self._db.execute(
            update(ReminderRecord)
            .where(
                col(ReminderRecord.class_session) == class_session,
                col(ReminderRecord.state) != ReminderState.CANCELLED.value,
                col(ReminderRecord.class_start) != class_start,
            )
            .values(
                class_start=class_start,
                remind_at=class_start - REMINDER_LEAD,
                state=ReminderState.PENDING.value,
                updated_at=now,
            )
        )

    async def claim_due(self, now: datetime, limit: int) -> list[Reminder]:
        """Pending reminders due by `now`, marked SENT (the caller sends them in this
        transaction, or skips those whose class has started)."""
        records = await self._db.execute(
            select(ReminderRecord)
            .where(
                col(ReminderRecord.state) == ReminderState.PENDING.value,
                col(ReminderRecord.remind_at) <= now,
            )
            .order_by(col(ReminderRecord.remind_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        due = [_to_reminder(record) for record in records.scalars().all()]
        for reminder in due:
            await self._db.execute(
                update(ReminderRecord)
                .where(col(ReminderRecord.booking) == reminder.booking)
                .values(state=ReminderState.SENT.value, updated_at=now)
            )
        return due


def _to_reminder(record: ReminderRecord) -> Reminder:
    return Reminder(
        record.booking,
        record.user_id,
        record.class_session,
        record.class_start,
        ReminderState(record.state),
    )
