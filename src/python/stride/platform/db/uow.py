"""Unit of work: one transaction per use case, with its events written to the outbox in it."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.platform.deadlines import time_left
from stride.platform.errors import Unavailable
from stride.platform.events.envelope import make_envelope
from stride.platform.events.outbox import OutboxRecord


class UnitOfWork:
    """`async with uow:` opens a transaction; `await uow.commit()` ends it, else it rolls back.

    Services subclass it and build their repositories in `_open_repositories`. Event consumers
    open one per event and commit it themselves (see `stride.platform.events.consumer`).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], source: str) -> None:
        self._sessions = sessions
        self._source = source
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use `async with uow:`")
        return self._session

    async def __aenter__(self) -> Self:
        session = self._session = self._sessions()
        try:
            await session.begin()
            left = time_left()
            if left is not None:
                # Serving a request: wait for a pooled connection only until its deadline (a
                # rush queues for connections; an outage never frees one), then UNAVAILABLE.
                try:
                    async with asyncio.timeout(left):
                        await session.connection()
                except TimeoutError as error:
                    raise Unavailable("DATABASE_UNAVAILABLE") from error
        except BaseException:
            # Cancelled or failed on the way in: `__aexit__` will not run, so give the
            # connection back here.
            self._session = None
            await session.close()
            raise
        self._open_repositories(session)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            if session.in_transaction():
                await session.rollback()
        finally:
            await session.close()

    def _open_repositories(self, session: AsyncSession) -> None:
        """Hook for subclasses."""

    def publish(self, event_type: str, *, subject: str, payload: Message) -> None:
        """Records an event; it reaches NATS only if this transaction commits."""
        envelope = make_envelope(
            source=self._source, event_type=event_type, subject=subject, payload=payload
        )
        self.session.add(OutboxRecord.from_envelope(envelope))

    async def commit(self) -> None:
        await self.session.commit()
