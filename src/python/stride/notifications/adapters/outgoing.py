"""What emails and text messages share: each is one row to one address, claimed (SENDING)
before its provider is called and settled after (see NotificationRepository.claim_due for
why the claim is committed first)."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from stride.notifications.adapters.tables import EmailRecord, TextMessageRecord
from stride.notifications.domain.notifications import DeliveryState, Email, Sms

Record = TypeVar("Record", EmailRecord, TextMessageRecord)


async def claim_due(
    session: AsyncSession, table: type[Record], now: datetime, limit: int
) -> list[Record]:
    """Up to `limit` rows due by `now`, marked SENDING; rows another sender holds are
    skipped. The records keep the state they were read in."""
    records = await session.execute(
        select(table)
        .where(col(table.state) == DeliveryState.PENDING.value, col(table.next_attempt) <= now)
        .order_by(col(table.next_attempt))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(records.scalars().all())
    if claimed:
        await session.execute(
            update(table)
            .where(col(table.id).in_([record.id for record in claimed]))
            .values(state=DeliveryState.SENDING.value, updated_at=now)
        )
    return claimed


async def save(
    session: AsyncSession, table: type[Record], message: Email | Sms, now: datetime
) -> None:
    await session.execute(
        update(table)
        .where(col(table.id) == message.id)
        .values(
            state=message.state.value,
            attempts=message.attempts,
            next_attempt=message.next_attempt,
            updated_at=now,
        )
    )
