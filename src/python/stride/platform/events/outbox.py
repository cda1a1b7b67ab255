"""The transactional outbox and the relay that moves it to NATS JetStream.

Rows are written by `UnitOfWork.publish` in the business transaction. The relay claims them in
order with `FOR UPDATE SKIP LOCKED` (so several replicas never publish the same row at once),
publishes each with `Nats-Msg-Id` = event id, and marks it published only after JetStream's ack.
While NATS is unreachable rows simply wait; the stream's duplicate window absorbs the re-publish
of a row whose ack was lost. Streams keep events for a bounded age and size (ADR 0009).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError
from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, LargeBinary, String, func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import Field, SQLModel, select

from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.events.envelope import (
    nats_subject,
    stream_name,
    stream_subjects,
    trace_headers,
)
from stride.platform.observability.metrics import (
    EVENTS_PUBLISHED,
    OUTBOX_LAG_SECONDS,
    OUTBOX_PENDING,
)
from stride.platform.tasks import cancel_and_wait

_log = logging.getLogger("stride.outbox")
DUPLICATE_WINDOW_SECONDS = 300.0
DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class StreamLimits:
    """What a stream keeps (ADR 0009): messages older than `max_age_seconds` go, and so do the
    oldest ones once it holds more than `max_bytes`."""

    max_age_seconds: float = 7 * DAY_SECONDS
    max_bytes: int = 1 << 30


DEFAULT_STREAM_LIMITS = StreamLimits()


class OutboxRecord(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("outbox_unpublished", "position", postgresql_where=Column("published_at").is_(None)),
        Index(
            "outbox_published", "published_at", postgresql_where=Column("published_at").isnot(None)
        ),
    )

    id: uuid.UUID = Field(primary_key=True)
    position: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(), nullable=False, unique=True)
    )
    event_type: str = Field(sa_column=Column(String(200), nullable=False))
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    published_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    attempts: int = Field(default=0, nullable=False)
    last_error: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> OutboxRecord:
        return cls(
            id=uuid.UUID(envelope.id),
            event_type=envelope.type,
            payload=envelope.SerializeToString(),
            created_at=envelope.time.ToDatetime(UTC),
        )


async def ensure_stream(
    js: JetStreamContext, prefix: str, source: str, limits: StreamLimits = DEFAULT_STREAM_LIMITS
) -> None:
    """Creates the source's stream (file storage, duplicate window, `limits`), or gives an
    existing one these limits if it has others (streams made before they existed too)."""
    name = stream_name(prefix, source)
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=name,
                subjects=stream_subjects(prefix, source),
                storage=StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW_SECONDS,
                max_age=limits.max_age_seconds,
                max_bytes=limits.max_bytes,
            )
        )
        return
    if (info.config.max_age, info.config.max_bytes) != (limits.max_age_seconds, limits.max_bytes):
        await js.update_stream(
            info.config.evolve(max_age=limits.max_age_seconds, max_bytes=limits.max_bytes)
        )
        _log.info(
            "stream limits updated",
            extra={
                "stream": name,
                "max_age_seconds": limits.max_age_seconds,
                "max_bytes": limits.max_bytes,
            },
        )


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        nats_url: str,
        prefix: str,
        source: str,
        limits: StreamLimits = DEFAULT_STREAM_LIMITS,
        batch_size: int = 100,
        idle_poll_seconds: float = 0.2,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self._sessions = sessions
        self._nats_url, self._prefix, self._source = nats_url, prefix, source
        self._limits = limits
        self._batch_size = batch_size
        self._idle_poll = idle_poll_seconds
        self._max_backoff = max_backoff_seconds
        self._nats: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._source}")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
        if self._nats is not None and not self._nats.is_closed:
            await self._nats.close()

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                published = await self.drain_once()
                failures = 0
                if published < self._batch_size:
                    await asyncio.sleep(self._idle_poll)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # NATS or Postgres unavailable: keep the rows, retry.
                failures += 1
                # Jitter spreads the retries of many replicas; it needs no cryptographic quality.
                jitter = random.uniform(0.5, 1.0)  # noqa: S311
                delay = min(self._max_backoff, 0.1 * 2**failures) * jitter
                _log.warning("outbox relay retrying", extra={"error": repr(error), "delay": delay})
                await asyncio.sleep(delay)

    async def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            self._nats = await nats.connect(
                self._nats_url,
                connect_timeout=2,
                reconnect_time_wait=0.5,
                max_reconnect_attempts=-1,
            )
            self._js = self._nats.jetstream(timeout=5)
            await ensure_stream(self._js, self._prefix, self._source, self._limits)
        return self._js

    async def drain_once(self) -> int:
        """Publishes one batch in order; stops at the first failure so order is kept."""
        js = await self._jetstream()
        published, failure = 0, None
        async with self._sessions() as session, session.begin():
            rows = (
                (
                    await session.execute(
                        select(OutboxRecord)
                        .where(OutboxRecord.published_at.is_(None))  # type: ignore[union-attr]
                        .order_by(OutboxRecord.position)  # type: ignore[arg-type]
                        .limit(self._batch_size)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            for row in rows:
                try:
                    await self._publish(js, row)
                except Exception as error:
                    row.attempts += 1
                    row.last_error = repr(error)[:500]
                    failure = error
                    break
                row.published_at = datetime.now(UTC)
                published += 1
        await self._record_lag()
        if failure is not None:
            raise failure
        return published

    async def _publish(self, js: JetStreamContext, row: OutboxRecord) -> None:
        envelope = Envelope.FromString(row.payload)
        await js.publish(
            nats_subject(self._prefix, row.event_type),
            row.payload,
            headers={"Nats-Msg-Id": str(row.id), **trace_headers(envelope)},
        )
        EVENTS_PUBLISHED.labels(self._source).inc()

    async def _record_lag(self) -> None:
        async with self._sessions() as session:
            pending, oldest = (
                await session.execute(
                    select(func.count(), func.min(OutboxRecord.created_at)).where(
                        OutboxRecord.published_at.is_(None)  # type: ignore[union-attr]
                    )
                )
            ).one()
        OUTBOX_PENDING.labels(self._source).set(pending)
        lag = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        OUTBOX_LAG_SECONDS.labels(self._source).set(lag)
