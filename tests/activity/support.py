"""What the Activity tests share: a migrated database with the library in it, the months its
health tables need, the signals that wake live watchers, the providers' work queue with a
worker importing from it, and the events the service wrote to its outbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial
from typing import TypeVar

import pytest
import pytest_asyncio
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from stride.activity.adapters.change_queue import QUEUE_NAME, JetStreamChangeQueue
from stride.activity.config import ActivitySettings
from stride.activity.entrypoints.import_worker import import_changes
from stride.activity.main import MIGRATIONS, partition_policies, sync_library
from stride.activity.service_layer import handlers, health
from stride.activity.service_layer.ports import Providers
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.clock import Clock, utcnow
from stride.platform.crypto.sealing import DataKeyring, new_data_key_spec
from stride.platform.db.engine import session_factory
from stride.platform.events.live import LiveSignals
from stride.platform.events.outbox import OutboxRecord
from stride.platform.events.work_queue import WorkQueue, WorkQueuePublisher, WorkQueueWorker
from stride.platform.testing.fixtures import migrated_engine

Payload = TypeVar("Payload", bound=Message)
# Seal the providers' tokens in tests.
DATA_KEYS = DataKeyring.from_spec(new_data_key_spec("test1"), "test1")
SETTINGS = ActivitySettings(
    database_url="postgresql://unused/activity",
    data_keys=new_data_key_spec("test1"),
    data_key_active="test1",
)
POLICY = health.HealthPolicy(timedelta(days=90), max_heart_rate=190)
# How often the import worker tries a change before dead-lettering it.
MAX_DELIVERIES = 3


@pytest_asyncio.fixture(scope="module")
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated_engine(database_url, MIGRATIONS) as engine:
        yield session_factory(engine)


@pytest_asyncio.fixture(scope="module")
async def new_uow(sessions: async_sessionmaker[AsyncSession]) -> partial[ActivityUnitOfWork]:
    factory = partial(ActivityUnitOfWork, sessions, DATA_KEYS)
    await sync_library(factory, "https://media.example")
    return factory


async def make_months(new_uow: partial[ActivityUnitOfWork], clock: Clock = utcnow) -> None:
    """The months a module's health samples fall in, as the service makes them before serving."""
    await health.maintain_partitions(
        new_uow(),
        partition_policies(SETTINGS),
        2,
        clock,
        samples_kept=timedelta(days=SETTINGS.health_sample_retention_days),
    )


@pytest.fixture(scope="module")
def queue(event_prefix: str) -> WorkQueue:
    return WorkQueue(event_prefix, QUEUE_NAME, max_age_seconds=600)


@pytest_asyncio.fixture(scope="module")
async def changes(queue: WorkQueue, nats_url: str) -> AsyncIterator[JetStreamChangeQueue]:
    """Where the webhooks queue their changes."""
    publisher = WorkQueuePublisher(queue, nats_url)
    yield JetStreamChangeQueue(publisher)
    await publisher.close()


@pytest_asyncio.fixture(scope="module")
async def import_worker(
    queue: WorkQueue,
    nats_url: str,
    new_uow: partial[ActivityUnitOfWork],
    configured: Providers,  # Each module's providers, on its stand-ins.
) -> AsyncIterator[WorkQueueWorker]:
    running = WorkQueueWorker(
        queue,
        import_changes(new_uow, configured, POLICY),
        nats_url=nats_url,
        service="activity",
        durable_name="activity-imports",
        max_deliver=MAX_DELIVERIES,
        backoff_seconds=(0.05,),
    )
    await running.start()
    yield running
    await running.stop()


@pytest_asyncio.fixture(scope="module")
async def live(nats_url: str, event_prefix: str) -> AsyncIterator[LiveSignals]:
    """The signals that wake watchers of live sessions, as the service runs them."""
    signals = LiveSignals(nats_url, event_prefix, "activity")
    await signals.start()
    yield signals
    await signals.stop()


async def published(
    new_uow: partial[ActivityUnitOfWork],
    event_types: str,
    payload_type: type[Payload],
    member: uuid.UUID,
) -> list[tuple[str, Payload]]:
    """(type, payload) of the events about `member` in the outbox whose type is LIKE
    `event_types`, in the order they were written."""
    async with new_uow() as uow:
        rows = await uow.session.execute(
            select(OutboxRecord)
            .where(col(OutboxRecord.event_type).like(event_types))
            .order_by(col(OutboxRecord.position))
        )
        found = []
        for row in rows.scalars():
            payload = payload_type()
            Envelope.FromString(row.payload).data.Unpack(payload)
            fields = {field.name: value for field, value in payload.ListFields()}
            if fields.get("member") == f"users/{member}":
                found.append((row.event_type, payload))
        return found


async def consenting(new_uow: partial[ActivityUnitOfWork], member: uuid.UUID) -> uuid.UUID:
    """`member`, having let Stride keep their heart rate."""
    await handlers.update_consent(new_uow(), member, {"heart_rate": True})
    return member
