"""Durable JetStream consumers with exactly-once effects through an inbox table.

Each message is handled by a use case in the service's unit of work, whose transaction also
inserts (consumer, event id) into `inbox`; a redelivered event finds its row and is acknowledged
without running the handler again. Failures are retried with backoff; after `max_deliver`
attempts, or at once for an event no retry can help (`UnprocessableEvent`), the message is
copied to the dead-letter subject and terminated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import nats
from google.protobuf.message import DecodeError
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from opentelemetry import trace
from sqlalchemy import Column, DateTime, Index, String, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.clock import utcnow
from stride.platform.db.uow import UnitOfWork
from stride.platform.errors import DomainError
from stride.platform.events.outbox import DEFAULT_STREAM_LIMITS, StreamLimits, ensure_stream
from stride.platform.observability.metrics import (
    CONSUMER_PENDING,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
)
from stride.platform.observability.tracing import extract_context
from stride.platform.tasks import cancel_and_wait

_log = logging.getLogger("stride.consumer")
_tracer = trace.get_tracer("stride.platform.events")

UnitOfWorkT = TypeVar("UnitOfWorkT", bound=UnitOfWork)
# A use case run for each event, in a unit of work the consumer has opened and commits: the
# handler neither enters nor commits it, so its effects and the inbox row commit together.
EventHandler = Callable[[Envelope, UnitOfWorkT], Awaitable[None]]


class UnprocessableEvent(Exception):
    """An event no redelivery can make handleable (say, a sealed value that does not open):
    dead-lettered at once instead of retried. Its message must not carry secrets: it is logged
    and copied into the dead letter's headers."""


class InboxRecord(SQLModel, table=True):
    __tablename__ = "inbox"
    __table_args__ = (Index("inbox_processed", "processed_at"),)

    consumer: str = Field(sa_column=Column(String(200), primary_key=True))
    event_id: str = Field(sa_column=Column(String(64), primary_key=True))
    processed_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


DEAD_LETTER_SOURCE = "deadletter"


def dead_letter_subject(prefix: str, consumer: str) -> str:
    return f"{prefix}.{DEAD_LETTER_SOURCE}.{consumer}"


async def _claim_in_inbox(
    session: AsyncSession, consumer: str, event_id: str, now: datetime
) -> bool:
    """Records that `consumer` applies `event_id` in `session`'s transaction; False when an
    earlier delivery already did."""
    claimed = await session.execute(
        insert(InboxRecord)
        .values(consumer=consumer, event_id=event_id, processed_at=now)
        .on_conflict_do_nothing()
        .returning(InboxRecord.__table__.c.event_id)  # type: ignore[attr-defined]
    )
    return claimed.first() is not None


class RetryLater(Exception):
    """The work cannot be done before `delay_seconds` (a provider's rate limit): retried then,
    still counting as an attempt."""

    def __init__(self, delay_seconds: float) -> None:
        super().__init__(f"retry in {delay_seconds:g} s")
        self.delay_seconds = delay_seconds


@dataclass(frozen=True)
class PullSettings:
    """How a durable pull consumer reads: its delivery attempts, the waits between them, how
    long a message may take before it is delivered again, and how many it fetches at once."""

    max_deliver: int
    backoff_seconds: tuple[float, ...]
    ack_wait_seconds: float
    batch_size: int
    dead_letter_limits: StreamLimits


class PullWorker:
    """A durable pull consumer of `subject` on `stream`, in a task of its own: fetches in
    batches, hands each message to `_process` and acks it; retries a failure with backoff (or
    when `RetryLater` says), and dead-letters a message after `max_deliver` attempts, or at
    once if it is unprocessable. Event consumers and work-queue workers are this loop with their
    own `_process`; it reconnects whenever NATS goes away."""

    def __init__(
        self,
        *,
        nats_url: str,
        prefix: str,
        service: str,
        stream: str,
        subject: str,
        durable_name: str,
        settings: PullSettings,
    ) -> None:
        self._nats_url, self._prefix, self._service = nats_url, prefix, service
        self._stream, self._subject, self._durable = stream, subject, durable_name
        self._settings = settings
        self._nats: NatsClient | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"pull-{self._durable}")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
        if self._nats is not None and not self._nats.is_closed:
            await self._nats.close()

    async def _process(self, message: Msg) -> None:
        """Does the message's work; raises UnprocessableEvent for what no retry can help."""
        raise NotImplementedError

    async def _prepare(self, js: JetStreamContext) -> None:
        """Makes the streams the worker reads from and writes to, before it subscribes."""
        await ensure_stream(js, self._prefix, DEAD_LETTER_SOURCE, self._settings.dead_letter_limits)

    async def _subscribe(self) -> tuple[JetStreamContext, JetStreamContext.PullSubscription]:
        self._nats = await nats.connect(
            self._nats_url, connect_timeout=2, reconnect_time_wait=0.5, max_reconnect_attempts=-1
        )
        js = self._nats.jetstream(timeout=5)
        await self._prepare(js)
        subscription = await js.pull_subscribe(
            self._subject,
            durable=self._durable,
            stream=self._stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                # One more than ours so the server never drops a message before we dead-letter it.
                max_deliver=self._settings.max_deliver + 1,
                ack_wait=self._settings.ack_wait_seconds,
            ),
        )
        return js, subscription

    async def _run(self) -> None:
        while True:
            try:
                js, subscription = await self._subscribe()
                await self._consume(js, subscription)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Stream not there yet, NATS down: retry.
                _log.warning(
                    "consumer retrying",
                    extra={"consumer": self._durable, "error": described(error)},
                )
                if self._nats is not None and not self._nats.is_closed:
                    await self._nats.close()
                await asyncio.sleep(1.0)

    async def _consume(
        self, js: JetStreamContext, subscription: JetStreamContext.PullSubscription
    ) -> None:
        while True:
            try:
                messages = await subscription.fetch(self._settings.batch_size, timeout=1.0)
            except (TimeoutError, NatsTimeoutError):
                continue
            for message in messages:
                await self.handle(js, message)
            info = await subscription.consumer_info()
            CONSUMER_PENDING.labels(self._service, self._durable).set(info.num_pending or 0)

    async def handle(self, js: JetStreamContext, message: Msg) -> None:
        try:
            await self._process(message)
        except UnprocessableEvent as error:
            await dead_letter(js, message, error, self._prefix, self._service, self._durable)
            return
        except Exception as error:
            await self._retry_or_dead_letter(js, message, error)
            return
        await message.ack()
        EVENTS_CONSUMED.labels(self._service, self._durable).inc()

    async def _retry_or_dead_letter(
        self, js: JetStreamContext, message: Msg, error: Exception
    ) -> None:
        deliveries = message.metadata.num_delivered or 1
        if deliveries >= self._settings.max_deliver:
            await dead_letter(js, message, error, self._prefix, self._service, self._durable)
            return
        if isinstance(error, RetryLater):
            delay = error.delay_seconds
        else:
            backoff = self._settings.backoff_seconds
            delay = backoff[min(deliveries, len(backoff)) - 1]
        _log.warning(
            "handling failed; will retry",
            extra={
                "consumer": self._durable,
                "deliveries": deliveries,
                "delay": delay,
                "error": described(error),
            },
        )
        await message.nak(delay=delay)


class EventConsumer(PullWorker, Generic[UnitOfWorkT]):
    """Applies each event of `filter_subject` once, in a unit of work from `new_uow` committed
    with the event's inbox row."""

    def __init__(
        self,
        new_uow: Callable[[], UnitOfWorkT],
        handler: EventHandler[UnitOfWorkT],
        *,
        nats_url: str,
        prefix: str,
        service: str,
        stream: str,
        durable_name: str,
        filter_subject: str,
        dead_letter_limits: StreamLimits = DEFAULT_STREAM_LIMITS,
        max_deliver: int = 5,
        backoff_seconds: Sequence[float] = (0.5, 2.0, 10.0, 30.0),
        ack_wait_seconds: float = 30.0,
        batch_size: int = 32,
    ) -> None:
        super().__init__(
            nats_url=nats_url,
            prefix=prefix,
            service=service,
            stream=stream,
            subject=filter_subject,
            durable_name=durable_name,
            settings=PullSettings(
                max_deliver,
                tuple(backoff_seconds),
                ack_wait_seconds,
                batch_size,
                dead_letter_limits,
            ),
        )
        self._new_uow, self._handler = new_uow, handler

    async def _process(self, message: Msg) -> None:
        try:
            envelope = Envelope.FromString(message.data)
        except DecodeError as error:
            raise UnprocessableEvent("not an envelope") from error
        if not envelope.id:
            raise UnprocessableEvent("an envelope without an id")
        producer_context = extract_context(
            {"traceparent": envelope.traceparent, "tracestate": envelope.tracestate}
        )
        with _tracer.start_as_current_span(
            f"consume {envelope.type}", context=producer_context, kind=trace.SpanKind.CONSUMER
        ):
            await self._apply_in_transaction(envelope)

    async def _apply_in_transaction(self, envelope: Envelope) -> None:
        async with self._new_uow() as uow:
            if not await _claim_in_inbox(uow.session, self._durable, envelope.id, utcnow()):
                return  # Already applied by an earlier delivery.
            await self._handler(envelope, uow)
            await uow.commit()


async def dead_letter(
    js: JetStreamContext, message: Msg, error: Exception, prefix: str, service: str, consumer: str
) -> None:
    """Copies `message` to `consumer`'s dead-letter subject, saying what went wrong, and
    terminates it: what event consumers and work-queue workers do with what they give up on."""
    headers = dict(message.headers or {})
    headers["Stride-Error"] = described(error)
    headers["Stride-Original-Subject"] = message.subject
    await js.publish(dead_letter_subject(prefix, consumer), message.data, headers=headers)
    await message.term()
    EVENTS_DEAD_LETTERED.labels(service, consumer).inc()
    _log.error("event dead-lettered", extra={"consumer": consumer, "error": described(error)})


def described(error: BaseException) -> str:
    """What went wrong, fit for logs and dead letters that are kept for days: the error's kind,
    a domain error's reason, an unprocessable event's own words (written to be safe), but never
    another error's message, which for a database error quotes the statement's parameters
    (addresses, names)."""
    if isinstance(error, UnprocessableEvent):
        return f"{type(error).__name__}: {error}"
    if isinstance(error, DomainError):
        return f"{type(error).__name__}: {error.reason}"
    return type(error).__name__
