"""Pruning over real Postgres, at a time the test sets: published outbox rows and inbox rows go
after their retention; unpublished and recent rows stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.platform.events.consumer import InboxRecord
from stride.platform.events.outbox import OutboxRecord
from stride.platform.events.retention import prune_event_tables, prune_inbox, prune_outbox

NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)
WEEK = timedelta(days=7)


async def add_outbox_row(
    sessions: async_sessionmaker[AsyncSession], created: datetime, published: datetime | None
) -> uuid.UUID:
    row_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        session.add(
            OutboxRecord(
                id=row_id,
                event_type="test.retention.v1",
                payload=b"",
                created_at=created,
                published_at=published,
            )
        )
    return row_id


async def add_inbox_row(
    sessions: async_sessionmaker[AsyncSession], consumer: str, processed: datetime
) -> str:
    event_id = str(uuid.uuid4())
    async with sessions() as session, session.begin():
        session.add(InboxRecord(consumer=consumer, event_id=event_id, processed_at=processed))
    return event_id


async def outbox_ids(sessions: async_sessionmaker[AsyncSession]) -> set[uuid.UUID]:
    async with sessions() as session:
        return set((await session.execute(text("SELECT id FROM outbox"))).scalars())


async def inbox_ids(sessions: async_sessionmaker[AsyncSession], consumer: str) -> set[str]:
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT event_id FROM inbox WHERE consumer = :consumer"), {"consumer": consumer}
        )
        return set(rows.scalars())


async def test_published_rows_go_after_the_retention_and_unpublished_ones_never(
    platform_sessions: async_sessionmaker[AsyncSession],
) -> None:
    long_ago = NOW - 5 * WEEK
    old_published = [
        await add_outbox_row(platform_sessions, long_ago, NOW - WEEK - timedelta(minutes=n + 1))
        for n in range(5)
    ]
    still_owed = await add_outbox_row(platform_sessions, long_ago, None)  # NATS was down for weeks.
    recent = await add_outbox_row(
        platform_sessions, NOW - timedelta(days=2), NOW - timedelta(days=2)
    )
    just_inside = await add_outbox_row(
        platform_sessions, NOW - WEEK, NOW - WEEK + timedelta(seconds=1)
    )

    pruned = await prune_outbox(platform_sessions, NOW - WEEK, batch_size=2)  # Three batches.

    assert pruned == len(old_published)
    remaining = await outbox_ids(platform_sessions)
    assert {still_owed, recent, just_inside} <= remaining
    assert remaining.isdisjoint(old_published)


async def test_inbox_rows_go_after_the_retention(
    platform_sessions: async_sessionmaker[AsyncSession],
) -> None:
    old = [await add_inbox_row(platform_sessions, "pruned", NOW - 2 * WEEK) for _ in range(3)]
    recent = await add_inbox_row(platform_sessions, "pruned", NOW - timedelta(days=1))

    pruned = await prune_inbox(platform_sessions, NOW - WEEK, batch_size=2)

    assert pruned == len(old)
    assert await inbox_ids(platform_sessions, "pruned") == {recent}


async def test_the_periodic_job_prunes_both_tables_at_the_clock_s_time(
    platform_sessions: async_sessionmaker[AsyncSession],
) -> None:
    later = NOW + 10 * WEEK  # Everything the other tests left is old by then.
    unpublished = await add_outbox_row(platform_sessions, NOW, None)
    published = await add_outbox_row(platform_sessions, NOW, NOW)
    fresh_outbox = await add_outbox_row(platform_sessions, later, later - timedelta(hours=1))
    applied = await add_inbox_row(platform_sessions, "job", NOW)
    fresh_inbox = await add_inbox_row(platform_sessions, "job", later - timedelta(hours=1))

    await prune_event_tables(platform_sessions, WEEK, WEEK + timedelta(days=1), clock=lambda: later)

    remaining = await outbox_ids(platform_sessions)
    assert {unpublished, fresh_outbox} <= remaining
    assert published not in remaining
    assert await inbox_ids(platform_sessions, "job") == {fresh_inbox}
    assert applied not in await inbox_ids(platform_sessions, "job")
