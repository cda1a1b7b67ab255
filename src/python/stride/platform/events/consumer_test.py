"""Consumers over real NATS JetStream and Postgres: exactly-once effects, retries, dead letters."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from functools import partial

import nats
import pytest_asyncio
from nats.aio.msg import Msg
from opentelemetry import trace
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.events.v1.envelope_pb2 import Envelope
from stride.identity.events.v1.events_pb2 import UserRegistered
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.db.uow import UnitOfWork
from stride.platform.events.consumer import (
    EventConsumer,
    UnprocessableEvent,
    dead_letter_subject,
)
from stride.platform.events.envelope import make_envelope, nats_subject, stream_name
from stride.platform.events.outbox import ensure_stream
from stride.platform.observability.tracing import configure_tracing
from stride.platform.testing.probes import eventually, eventually_equal

configure_tracing("test", None)  # A real tracer: spans get ids that events can carry.


def event_type(consumer: str) -> str:
    """Each test publishes its own event type, so its consumer sees only its events."""
    return f"identity.{consumer}.v1"


@pytest_asyncio.fixture(scope="module")
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await run_migrations(database_url)
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE effects (consumer text, event_id text)"))
    yield session_factory(engine)
    await engine.dispose()


@pytest_asyncio.fixture(scope="module")
async def js(nats_url: str, event_prefix: str) -> AsyncIterator[nats.js.JetStreamContext]:
    connection = await nats.connect(nats_url)
    context = connection.jetstream()
    await ensure_stream(context, event_prefix, "identity")
    yield context
    await connection.close()


class Handler:
    """Records an effect, failing the first `failures` attempts per event."""

    def __init__(self, consumer: str, failures: int = 0) -> None:
        self.consumer, self.failures = consumer, failures
        self.calls: Counter[str] = Counter()

    async def __call__(self, envelope: Envelope, uow: UnitOfWork) -> None:
        self.calls[envelope.id] += 1
        await uow.session.execute(
            text("INSERT INTO effects VALUES (:consumer, :event_id)"),
            {"consumer": self.consumer, "event_id": envelope.id},
        )
        if self.calls[envelope.id] <= self.failures:
            raise RuntimeError("transient failure")  # Rolls the effect back.


def consumer_for(
    handler: Handler, sessions: async_sessionmaker[AsyncSession], nats_url: str, prefix: str
) -> EventConsumer:
    return EventConsumer(
        partial(UnitOfWork, sessions, "test"),
        handler,
        nats_url=nats_url,
        prefix=prefix,
        service="test",
        stream=stream_name(prefix, "identity"),
        durable_name=handler.consumer,
        filter_subject=nats_subject(prefix, event_type(handler.consumer)),
        max_deliver=3,
        backoff_seconds=(0.1, 0.2),
        ack_wait_seconds=5,
    )


def envelope(consumer: str) -> Envelope:
    return make_envelope(
        source="identity",
        event_type=event_type(consumer),
        subject="users/1",
        payload=UserRegistered(),
    )


async def effects(sessions: async_sessionmaker[AsyncSession], consumer: str) -> list[str]:
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT event_id FROM effects WHERE consumer = :c"), {"c": consumer}
        )
        return list(rows.scalars())


async def test_a_redelivered_event_has_one_effect(
    sessions: async_sessionmaker[AsyncSession],
    js: nats.js.JetStreamContext,
    nats_url: str,
    event_prefix: str,
) -> None:
    handler = Handler("once")
    event, sentinel = envelope("once"), envelope("once")
    # Two copies on the stream, as after a relay crash outside the duplicate window; then a
    # later event, which the consumer handles only after both copies.
    for published, copy in ((event, "a"), (event, "b"), (sentinel, "a")):
        await js.publish(
            nats_subject(event_prefix, published.type),
            published.SerializeToString(),
            headers={"Nats-Msg-Id": f"{published.id}-{copy}"},
        )
    consumer = consumer_for(handler, sessions, nats_url, event_prefix)

    async def sentinel_applied() -> bool:
        return sentinel.id in await effects(sessions, "once")

    await consumer.start()
    try:
        await eventually(sentinel_applied)
    finally:
        await consumer.stop()
    assert Counter(await effects(sessions, "once")) == {event.id: 1, sentinel.id: 1}
    assert handler.calls[event.id] == 1


async def test_a_transient_failure_is_retried(
    sessions: async_sessionmaker[AsyncSession],
    js: nats.js.JetStreamContext,
    nats_url: str,
    event_prefix: str,
) -> None:
    handler = Handler("retry", failures=1)
    event = envelope("retry")
    consumer = consumer_for(handler, sessions, nats_url, event_prefix)
    await consumer.start()
    try:
        await js.publish(nats_subject(event_prefix, event.type), event.SerializeToString())
        await eventually_equal(lambda: effects(sessions, "retry"), [event.id])
        assert handler.calls[event.id] == 2
    finally:
        await consumer.stop()


async def dead_letter_of(
    event: Envelope,
    handler: Handler,
    sessions: async_sessionmaker[AsyncSession],
    js: nats.js.JetStreamContext,
    nats_url: str,
    prefix: str,
) -> Msg:
    """Publishes `event` to `handler`'s consumer and returns its dead letter."""
    dead_letters = await js.subscribe(dead_letter_subject(prefix, handler.consumer))
    consumer = consumer_for(handler, sessions, nats_url, prefix)
    await consumer.start()
    try:
        await js.publish(nats_subject(prefix, event.type), event.SerializeToString())
        return await dead_letters.next_msg(timeout=20)
    finally:
        await consumer.stop()


async def test_a_poison_event_is_dead_lettered_after_max_deliveries(
    sessions: async_sessionmaker[AsyncSession],
    js: nats.js.JetStreamContext,
    nats_url: str,
    event_prefix: str,
) -> None:
    handler = Handler("poison", failures=99)
    event = envelope("poison")
    message = await dead_letter_of(event, handler, sessions, js, nats_url, event_prefix)
    assert Envelope.FromString(message.data).id == event.id
    assert message.headers is not None
    # The kind of error only: a message may quote a statement's parameters, kept for days here.
    assert message.headers["Stride-Error"] == "RuntimeError"
    assert handler.calls[event.id] == 3
    assert await effects(sessions, "poison") == []  # Every failed attempt rolled back.


async def test_an_unprocessable_event_is_dead_lettered_without_retries(
    sessions: async_sessionmaker[AsyncSession],
    js: nats.js.JetStreamContext,
    nats_url: str,
    event_prefix: str,
) -> None:
    class Refusing(Handler):
        async def __call__(self, envelope: Envelope, uow: UnitOfWork) -> None:
            await super().__call__(envelope, uow)
            raise UnprocessableEvent("sealed for another event")

    handler = Refusing("refused")
    event = envelope("refused")
    message = await dead_letter_of(event, handler, sessions, js, nats_url, event_prefix)
    assert Envelope.FromString(message.data).id == event.id
    assert message.headers is not None
    assert "sealed for another event" in message.headers["Stride-Error"]
    assert handler.calls[event.id] == 1
    assert await effects(sessions, "refused") == []


async def test_the_consumer_continues_the_producers_trace(
    sessions: async_sessionmaker[AsyncSession],
    js: nats.js.JetStreamContext,
    nats_url: str,
    event_prefix: str,
) -> None:
    seen: list[int] = []

    class TraceRecorder(Handler):
        async def __call__(self, envelope: Envelope, uow: UnitOfWork) -> None:
            seen.append(trace.get_current_span().get_span_context().trace_id)
            await super().__call__(envelope, uow)

    handler = TraceRecorder("traced")
    with trace.get_tracer("test").start_as_current_span("publish") as producer:
        event = envelope("traced")
    consumer = consumer_for(handler, sessions, nats_url, event_prefix)
    await consumer.start()
    try:
        await js.publish(nats_subject(event_prefix, event.type), event.SerializeToString())
        await eventually_equal(lambda: effects(sessions, "traced"), [event.id])
    finally:
        await consumer.stop()
    assert seen == [producer.get_span_context().trace_id]
