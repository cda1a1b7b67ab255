"""Killing NATS while the relay runs loses no event and duplicates no effect."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.events.v1.envelope_pb2 import Envelope
from stride.identity.events.v1.events_pb2 import UserRegistered
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.db.uow import UnitOfWork
from stride.platform.events.consumer import EventConsumer
from stride.platform.events.envelope import stream_name
from stride.platform.events.outbox import OutboxRelay
from stride.platform.local.nats import EmbeddedNats

SOURCE = "identity"
EVENT_TYPE = "identity.user.registered.v1"


@pytest_asyncio.fixture(scope="module")
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await run_migrations(database_url)
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        # No unique constraint on purpose: a duplicate effect must be visible, not rejected.
        await connection.execute(
            text("CREATE TABLE effects (id bigserial PRIMARY KEY, event_id text NOT NULL)")
        )
    yield session_factory(engine)
    await engine.dispose()


async def record_effect(envelope: Envelope, uow: UnitOfWork) -> None:
    await uow.session.execute(
        text("INSERT INTO effects (event_id) VALUES (:event_id)"), {"event_id": envelope.id}
    )


async def write_events(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    for index in range(count):
        uow = UnitOfWork(sessions, SOURCE)
        async with uow:
            uow.publish(
                EVENT_TYPE,
                subject=f"users/{index}",
                payload=UserRegistered(user=f"users/{index}", email=f"u{index}@example.com"),
            )
            await uow.commit()


async def eventually(condition: Callable[[], Awaitable[bool]], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.1)


async def scalar(sessions: async_sessionmaker[AsyncSession], query: str) -> int:
    async with sessions() as session:
        return int((await session.execute(text(query))).scalar_one())


async def test_outbox_drains_after_nats_returns_with_no_duplicate_effect(
    sessions: async_sessionmaker[AsyncSession], embedded_nats: EmbeddedNats
) -> None:
    prefix = "outage"
    relay = OutboxRelay(
        sessions, nats_url=embedded_nats.url, prefix=prefix, source=SOURCE, idle_poll_seconds=0.05
    )
    consumer = EventConsumer(
        partial(UnitOfWork, sessions, SOURCE),
        record_effect,
        nats_url=embedded_nats.url,
        prefix=prefix,
        service="test",
        stream=stream_name(prefix, SOURCE),
        durable_name="effects",
        filter_subject=f"{prefix}.{SOURCE}.>",
    )
    await relay.start()
    await consumer.start()
    try:
        await write_events(sessions, 20)
        await eventually(lambda: _count_equals(sessions, "SELECT count(*) FROM effects", 20))

        embedded_nats.kill()
        await write_events(sessions, 30)
        await asyncio.sleep(1.0)  # The relay is now failing against a dead server.
        assert await scalar(sessions, "SELECT count(*) FROM outbox WHERE published_at IS NULL") > 0

        embedded_nats.start()
        await eventually(lambda: _count_equals(sessions, "SELECT count(*) FROM effects", 50))
        await eventually(
            lambda: _count_equals(
                sessions, "SELECT count(*) FROM outbox WHERE published_at IS NULL", 0
            )
        )
    finally:
        await consumer.stop()
        await relay.stop()

    async with sessions() as session:
        outbox_rows = await session.execute(text("SELECT id::text FROM outbox"))
        outbox_ids: set[str] = set(outbox_rows.scalars())
        effects: list[str] = list(
            (await session.execute(text("SELECT event_id FROM effects ORDER BY id"))).scalars()
        )
    published = await scalar(sessions, "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
    assert len(effects) == len(set(effects)) == 50  # Every event, each exactly once.
    assert set(effects) == outbox_ids
    assert published == 50


async def _count_equals(
    sessions: async_sessionmaker[AsyncSession], query: str, expected: int
) -> bool:
    return await scalar(sessions, query) == expected
