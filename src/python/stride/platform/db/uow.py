"""Unit of work: one transaction per use case, with its events written to the outbox in it."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.platform.deadlines import time_to_answer
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
        self._session = self._sessions()
        await self._session.begin()
        left = time_to_answer()
        if left == 0.0:
            await self._session.close()
            self._session = None
            raise TimeoutError  # The caller could not hear the answer: DEADLINE_EXCEEDED.
        if left is not None:
            # Serving a request: wait for a pooled connection only while an answer could still
            # reach the caller (a rush queues for connections; an outage never frees one).
            try:
                async with asyncio.timeout(left):
                    await self._session.connection()
            except TimeoutError as error:
                await self._session.close()
                self._session = None
                raise Unavailable("DATABASE_UNAVAILABLE") from error
        self._open_repositories(self._session)
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
        """Commits, unless the request being served is past the point where its answer could
        reach the caller: then nothing is committed (DEADLINE_EXCEEDED), rather than a change
        the caller never hears of."""
        if time_to_answer() == 0.0:
            raise TimeoutError
        await self.session.commit()
