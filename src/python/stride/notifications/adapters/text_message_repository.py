"""Loads and stores text messages to send."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from stride.notifications.adapters import outgoing
from stride.notifications.adapters.tables import TextMessageRecord
from stride.notifications.domain.notifications import DeliveryState, Sms


class TextMessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def add(self, sms: Sms, now: datetime) -> None:
        """Stores a new text; one already there (the same notification) stays as it is."""
        await self._db.execute(
            insert(TextMessageRecord)
            .values(
                id=sms.id,
                user_id=sms.user_id,
                to_number=sms.to,
                body=sms.body,
                state=sms.state.value,
                attempts=sms.attempts,
                next_attempt=sms.next_attempt,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )

    async def claim_due(self, now: datetime, limit: int) -> list[Sms]:
        """Up to `limit` texts due by `now`, marked SENDING: the caller commits, then sends."""
        claimed = await outgoing.claim_due(self._db, TextMessageRecord, now, limit)
        return [
            Sms(
                record.id,
                record.user_id,
                record.to_number,
                record.body,
                DeliveryState.SENDING,
                record.attempts,
                record.next_attempt,
            )
            for record in claimed
        ]

    async def save(self, sms: Sms, now: datetime) -> None:
        await outgoing.save(self._db, TextMessageRecord, sms, now)
