"""Claiming rows for an attempt at a provider (see `domain.payments`): the oldest row that is
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
) -> Record | None:
    """The oldest `record_type` row matching `due`, locked, with its `claim` column set to
    `until`; rows another transaction holds are skipped, so workers side by side never take
    the same one."""
    record = (
        await session.execute(
            select(record_type)
            .where(due)
            .order_by(oldest_first)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()
    if record is not None:
        setattr(record, claim, until)
        await session.flush()
    return record
