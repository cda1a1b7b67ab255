"""Pruning what the outbox and the inbox no longer need (ADR 0009).

A published outbox row has done its work once JetStream acknowledged it; it is kept a while to
trace and, if need be, re-publish what the streams still hold. An inbox row must outlive every
copy of its event a consumer could still be handed, i.e. the stream's `max_age`. Unpublished
outbox rows are never pruned, however old: they are events still owed to the other services.
Rows go in small batches (`stride.platform.db.pruning`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from stride.platform.clock import Clock, utcnow
from stride.platform.db.pruning import PRUNE_BATCH, delete_where_in_batches
from stride.platform.events.consumer import InboxRecord
from stride.platform.events.outbox import OutboxRecord

_log = logging.getLogger("stride.retention")


async def prune_outbox(
    sessions: async_sessionmaker[AsyncSession],
    published_before: datetime,
    batch_size: int = PRUNE_BATCH,
) -> int:
    """Deletes outbox rows published before `published_before`; how many."""
    published = col(OutboxRecord.published_at) < published_before
    key = (col(OutboxRecord.id),)
    return await delete_where_in_batches(sessions, OutboxRecord, key, published, batch_size)


async def prune_inbox(
    sessions: async_sessionmaker[AsyncSession],
    processed_before: datetime,
    batch_size: int = PRUNE_BATCH,
) -> int:
    """Deletes inbox rows of events applied before `processed_before`; how many."""
    processed = col(InboxRecord.processed_at) < processed_before
    key = (col(InboxRecord.consumer), col(InboxRecord.event_id))
    return await delete_where_in_batches(sessions, InboxRecord, key, processed, batch_size)


async def prune_event_tables(
    sessions: async_sessionmaker[AsyncSession],
    outbox_retention: timedelta,
    inbox_retention: timedelta,
    clock: Clock = utcnow,
) -> None:
    """What the periodic job runs in every service."""
    now = clock()
    outbox = await prune_outbox(sessions, now - outbox_retention)
    inbox = await prune_inbox(sessions, now - inbox_retention)
    if outbox or inbox:
        _log.info("event tables pruned", extra={"outbox_rows": outbox, "inbox_rows": inbox})
