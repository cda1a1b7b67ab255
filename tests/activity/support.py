"""What the Activity tests share: a migrated database with the library in it, the signals that
wake live watchers, and the events the service wrote to its outbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from functools import partial
from typing import TypeVar

import pytest_asyncio
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from stride.activity.main import MIGRATIONS, sync_library
from stride.activity.service_layer import handlers
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.crypto.sealing import DataKeyring, new_data_key_spec
from stride.platform.db.engine import session_factory
from stride.platform.events.live import LiveSignals
from stride.platform.events.outbox import OutboxRecord
from stride.platform.testing.fixtures import migrated_engine

Payload = TypeVar("Payload", bound=Message)
# Seal the providers' tokens in tests.
DATA_KEYS = DataKeyring.from_spec(new_data_key_spec("test1"), "test1")


@pytest_asyncio.fixture(scope="module")
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated_engine(database_url, MIGRATIONS) as engine:
        yield session_factory(engine)


@pytest_asyncio.fixture(scope="module")
async def new_uow(sessions: async_sessionmaker[AsyncSession]) -> partial[ActivityUnitOfWork]:
    factory = partial(ActivityUnitOfWork, sessions, DATA_KEYS)
    await sync_library(factory, "https://media.example")
    return factory


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
