"""Loads and stores emails to send."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from stride.notifications.adapters import outgoing
from stride.notifications.adapters.tables import EmailRecord
from stride.notifications.domain.notifications import DeliveryState, Email


class EmailRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def add(self, email: Email, now: datetime) -> bool:
        """Stores a new email; False if it exists (the same event seen again)."""
        added = await self._db.execute(
            insert(EmailRecord)
            .values(
                id=email.id,
                user_id=email.user_id,
                to_address=email.to,
                language=email.language,
                subject=email.subject,
                text_body=email.text,
                html_body=email.html,
                unsubscribe_url=email.unsubscribe_url,
                state=email.state.value,
                attempts=email.attempts,
                next_attempt=email.next_attempt,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(col(EmailRecord.id))
        )
        return added.first() is not None

    async def claim_due(self, now: datetime, limit: int) -> list[Email]:
        """Up to `limit` emails due by `now`, marked SENDING: the caller commits, then sends."""
        claimed = await outgoing.claim_due(self._db, EmailRecord, now, limit)
        return [replace(_to_email(record), state=DeliveryState.SENDING) for record in claimed]

    async def save(self, email: Email, now: datetime) -> None:
        await outgoing.save(self._db, EmailRecord, email, now)


def _to_email(record: EmailRecord) -> Email:
    return Email(
        record.id,
        record.user_id,
        record.to_address,
        record.language,
        record.subject,
        record.text_body,
        record.html_body,
        DeliveryState(record.state),
        record.attempts,
        record.next_attempt,
        record.unsubscribe_url,
    )
