"""Claiming rows for an attempt at a provider (see `domain.payments`): the oldest rows that are
due and nobody holds, locked and claimed in one short transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, select

Record = TypeVar("Record", bound=SQLModel)


async def claim_oldest(
    session: AsyncSession,
    record_type: type[Record],
    due: Any,
    oldest_first: Any,
    claim: str,
    until: datetime,
    limit: int = 1,
) -> list[Record]:
    """Up to `limit` of the oldest `record_type` rows matching `due`, locked, with their
    `claim` column set to `until`; rows another transaction holds are skipped, so workers side
    by side never take the same one."""
    records = list(
        (
            await session.execute(
                select(record_type)
                .where(due)
                .order_by(oldest_first)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    for record in records:
        setattr(record, claim, until)
    if records:
        await session.flush()
    return records
