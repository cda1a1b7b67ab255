"""Deleting rows that outlived their retention without holding locks or a transaction long:
a batch at a time, each in its own short transaction, so the requests, the relay and the
consumers writing to the same table never wait on the pruner for more than one batch."""

from __future__ import annotations

from sqlalchemy import Delete
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
