"""Deleting rows that outlived their retention without holding locks or a transaction long:
a batch at a time, each in its own short transaction, so the requests, the relay and the
consumers writing to the same table never wait on the pruner for more than one batch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Delete, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

PRUNE_BATCH = 1000


async def delete_in_batches(
    sessions: async_sessionmaker[AsyncSession], delete_batch: Delete, batch_size: int
) -> int:
    """Runs `delete_batch` (which deletes at most `batch_size` rows) in one short transaction
    after another until a batch comes up short; how many rows it deleted."""
    pruned = 0
    while True:
        async with sessions() as session, session.begin():
            deleted = await session.execute(delete_batch)
        count: int = deleted.rowcount  # type: ignore[attr-defined]
        pruned += count
        if count < batch_size:
            return pruned


async def delete_where_in_batches(
    sessions: async_sessionmaker[AsyncSession],
    table: Any,
    key: tuple[Any, ...],
    condition: Any,
    batch_size: int = PRUNE_BATCH,
) -> int:
    """Deletes `table`'s rows matching `condition` with `delete_in_batches`, each batch picked
    by its primary `key` columns, skipping rows another transaction holds (left for the next
    run); how many rows it deleted."""
    batch = select(*key).where(condition).limit(batch_size).with_for_update(skip_locked=True)
    picked = key[0].in_(batch.scalar_subquery()) if len(key) == 1 else tuple_(*key).in_(batch)
    return await delete_in_batches(sessions, delete(table).where(picked), batch_size)
