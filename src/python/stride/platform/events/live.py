"""A service's own events as they are published, for server-streaming RPCs.

One core NATS subscription per process fans each event out to the calls listening, so a
thousand connected apps cost one subscription, not a thousand JetStream consumers. Events
come from every replica (the outbox relays publish to NATS), so a client connected to one
replica sees changes made on another. A listener that falls behind loses the oldest events,
never blocks the others; the durable path (push notifications) does not depend on it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from stride.events.v1.envelope_pb2 import Envelope

_log = logging.getLogger("stride.live")


class LiveEvents:
    def __init__(self, nats_url: str, prefix: str, source: str, buffer: int = 256) -> None:
        self._nats_url, self._subject = nats_url, f"{prefix}.{source}.>"
        self._buffer = buffer
        self._listeners: set[asyncio.Queue[Envelope]] = set()
        self._nats: NatsClient | None = None

    async def start(self) -> None:
        self._nats = await nats.connect(
            self._nats_url, reconnect_time_wait=0.5, max_reconnect_attempts=-1
        )
        await self._nats.subscribe(self._subject, cb=self._dispatch)

    async def stop(self) -> None:
        if self._nats is not None and not self._nats.is_closed:
            await self._nats.close()

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[asyncio.Queue[Envelope]]:
        queue: asyncio.Queue[Envelope] = asyncio.Queue(self._buffer)
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)

    async def _dispatch(self, message: Msg) -> None:
        try:
            envelope = Envelope.FromString(message.data)
        except Exception:  # Not ours to judge here; the durable consumers dead-letter it.
            _log.warning("undecodable event", extra={"subject": message.subject})
            return
        for queue in list(self._listeners):
            if queue.full():
                queue.get_nowait()  # Drop the oldest for a slow listener.
            queue.put_nowait(envelope)


class LiveSignals:
    """Wake-ups for the watchers of a log kept in the database (a live session's updates).

    The log is the truth and a watcher reads it after the last entry it sent; a signal only
    says "read again" to every replica's watchers of one topic, so a signal lost (NATS down, a
    replica reconnecting) delays an update until the watcher's next periodic read, never loses
    it. Signals are core NATS messages outside the services' JetStream streams: nothing keeps
    them. One subscription per process serves every watcher.
    """

    def __init__(self, nats_url: str, prefix: str, source: str) -> None:
        self._nats_url = nats_url
        self._subject_prefix = f"{prefix}.live.{source}"
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._nats: NatsClient | None = None

    async def start(self) -> None:
        self._nats = await nats.connect(
            self._nats_url, reconnect_time_wait=0.5, max_reconnect_attempts=-1
        )
        await self._nats.subscribe(f"{self._subject_prefix}.*", cb=self._dispatch)

    async def stop(self) -> None:
        if self._nats is not None and not self._nats.is_closed:
            await self._nats.close()

    async def notify(self, *topics: str) -> None:
        """Tells every replica's watchers of `topics` to read again. Never raises: the
        watchers read again on their own soon enough."""
        if self._nats is None or not self._nats.is_connected:
            return
        try:
            for topic in topics:
                await self._nats.publish(f"{self._subject_prefix}.{_token(topic)}")
        except Exception:  # A broken connection reconnects by itself; the log keeps the update.
            _log.warning("live signal not sent", exc_info=True)

    @contextmanager
    def waiting(self, topic: str) -> Iterator[asyncio.Event]:
        """An event set whenever `topic` is signalled, from now on: clear it before each read."""
        event = asyncio.Event()
        token = _token(topic)
        self._waiting.setdefault(token, set()).add(event)
        try:
            yield event
        finally:
            waiting = self._waiting.get(token, set())
            waiting.discard(event)
            if not waiting:
                self._waiting.pop(token, None)

    async def _dispatch(self, message: Msg) -> None:
        token = message.subject.rpartition(".")[2]
        for event in self._waiting.get(token, ()):
            event.set()


def _token(topic: str) -> str:
    """One NATS subject token for any topic (resource names hold `/` and maybe `.` or `*`)."""
    return hashlib.sha256(topic.encode()).hexdigest()[:32]
