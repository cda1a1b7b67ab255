"""Work queues on JetStream: jobs a service hands itself to do outside the request that brought
them (a webhook acknowledged at once, its work done after).

A queue is a stream with WorkQueue retention (a job is gone once a worker acknowledges it) and
an age limit (a job nobody could do within it is dropped: ADR 0009), its subject outside every
event stream's. Jobs carry an id: the same job enqueued again within the duplicate window is
stored once. Workers pull with explicit acks; a failing job is retried with backoff (a NAK with
a delay), or after the delay a job asks for (`RetryLater`, e.g. a provider's rate limit); after
`max_deliver` attempts, or at once for a job no retry can help (`UnprocessableEvent`), it is
copied to the dead-letter stream event consumers use and terminated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from stride.platform.events.consumer import PullSettings, PullWorker
from stride.platform.events.outbox import (
    DAY_SECONDS,
    DEFAULT_STREAM_LIMITS,
    DUPLICATE_WINDOW_SECONDS,
    StreamLimits,
)

_log = logging.getLogger("stride.work_queue")

# A job is a handler's to do: it returns when done, raises to be retried.
JobHandler = Callable[[bytes], Awaitable[None]]


@dataclass(frozen=True)
class WorkQueue:
    """A service's queue named `name` (e.g. `activity_imports`) under the events prefix."""

    prefix: str
    name: str
    max_age_seconds: float = DAY_SECONDS
    max_bytes: int = DEFAULT_STREAM_LIMITS.max_bytes

    @property
    def stream(self) -> str:
        return f"{self.prefix}_work_{self.name}".upper()

    @property
    def subject(self) -> str:
        return f"{self.prefix}.work.{self.name}"

    async def ensure(self, js: JetStreamContext) -> None:
        """Creates the stream, or gives an existing one this age and size."""
        try:
            info = await js.stream_info(self.stream)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self.stream,
                    subjects=[self.subject],
                    retention=RetentionPolicy.WORK_QUEUE,
                    storage=StorageType.FILE,
                    duplicate_window=min(DUPLICATE_WINDOW_SECONDS, self.max_age_seconds),
                    max_age=self.max_age_seconds,
                    max_bytes=self.max_bytes,
                )
            )
            return
        if (info.config.max_age, info.config.max_bytes) != (self.max_age_seconds, self.max_bytes):
            await js.update_stream(
                info.config.evolve(max_age=self.max_age_seconds, max_bytes=self.max_bytes)
            )


class WorkQueuePublisher:
    """Enqueues jobs; connects to NATS on first use. An enqueue that cannot be stored within
    `timeout_seconds` (NATS down, JetStream slow) fails with a TimeoutError: whoever handed the
    job over (a webhook's sender) has a deadline of its own."""

    def __init__(self, queue: WorkQueue, nats_url: str, timeout_seconds: float = 1.5) -> None:
        self._queue, self._nats_url = queue, nats_url
        self._timeout = timeout_seconds
        self._nats: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._connecting = asyncio.Lock()

    async def _jetstream(self) -> JetStreamContext:
        async with self._connecting:
            if self._js is None:
                self._nats = await nats.connect(
                    self._nats_url, connect_timeout=2, reconnect_time_wait=0.5
                )
                js = self._nats.jetstream(timeout=2)
                await self._queue.ensure(js)
                self._js = js
        return self._js

    async def enqueue(self, job: bytes, job_id: str) -> None:
        """Stores `job` (once per `job_id` within the duplicate window) before returning."""
        async with asyncio.timeout(self._timeout):
            js = await self._jetstream()
            await js.publish(self._queue.subject, job, headers={"Nats-Msg-Id": job_id})

    async def close(self) -> None:
        if self._nats is not None and not self._nats.is_closed:
            await self._nats.close()
        self._nats, self._js = None, None


class WorkQueueWorker(PullWorker):
    """Pulls `queue`'s jobs as the durable consumer `durable_name` (replicas share it) and hands
    each to `handler`."""

    def __init__(
        self,
        queue: WorkQueue,
        handler: JobHandler,
        *,
        nats_url: str,
        service: str,
        durable_name: str,
        dead_letter_limits: StreamLimits = DEFAULT_STREAM_LIMITS,
        max_deliver: int = 6,
        backoff_seconds: Sequence[float] = (1.0, 5.0, 30.0, 120.0, 600.0),
        ack_wait_seconds: float = 60.0,
        batch_size: int = 8,
    ) -> None:
        super().__init__(
            nats_url=nats_url,
            prefix=queue.prefix,
            service=service,
            stream=queue.stream,
            subject=queue.subject,
            durable_name=durable_name,
            settings=PullSettings(
                max_deliver,
                tuple(backoff_seconds),
                ack_wait_seconds,
                batch_size,
                dead_letter_limits,
            ),
        )
        self._queue, self._handler = queue, handler

    async def _prepare(self, js: JetStreamContext) -> None:
        await self._queue.ensure(js)
        await super()._prepare(js)

    async def _process(self, message: Msg) -> None:
        await self._handler(message.data)
