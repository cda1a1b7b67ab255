"""A service's own events as they are published, for server-streaming RPCs.

One core NATS subscription per process fans each event out to the calls listening, so a
thousand connected apps cost one subscription, not a thousand JetStream consumers. Events
come from every replica (the outbox relays publish to NATS), so a client connected to one
replica sees changes made on another. A listener that falls behind loses the oldest events,
never blocks the others; the durable path (push notifications) does not depend on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
