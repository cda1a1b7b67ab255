"""Killing NATS while the relay runs loses no event and duplicates no effect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

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
from stride.platform.testing.probes import eventually, eventually_equal

SOURCE = "identity"
EVENT_TYPE = "identity.user.registered.v1"
EFFECTS = "SELECT count(*) FROM effects"
UNPUBLISHED = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
WITHOUT_EFFECT = "SELECT count(*) FROM outbox WHERE id::text NOT IN (SELECT event_id FROM effects)"
WAIT_SECONDS = 60.0  # NATS restarts and the relay backs off in between: more than the default.


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

    async def failed_publishes() -> int:
        """Unpublished rows the relay tried and failed to publish."""
        return await scalar(
            sessions, "SELECT count(*) FROM outbox WHERE published_at IS NULL AND attempts > 0"
        )

    await relay.start()
    await consumer.start()
    try:
        await write_events(sessions, 20)
        await eventually_equal(lambda: scalar(sessions, EFFECTS), 20, within=WAIT_SECONDS)

        embedded_nats.kill()
        await write_events(sessions, 30)
        await eventually(failed_publishes, within=WAIT_SECONDS)  # Failing against a dead server.

        embedded_nats.start()
        await eventually_equal(lambda: scalar(sessions, UNPUBLISHED), 0, within=WAIT_SECONDS)
        # A later event, handled after every copy of the earlier ones that reached the stream.
        await write_events(sessions, 1)
        await eventually_equal(lambda: scalar(sessions, WITHOUT_EFFECT), 0, within=WAIT_SECONDS)
        await eventually_equal(lambda: scalar(sessions, UNPUBLISHED), 0, within=WAIT_SECONDS)
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
    assert len(effects) == len(set(effects)) == 51  # Every event, each exactly once.
    assert set(effects) == outbox_ids
    assert published == 51
