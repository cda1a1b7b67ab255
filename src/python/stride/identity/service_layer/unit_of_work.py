"""Identity's unit of work: the platform's, with the account repository."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.identity.adapters.repository import UserRepository
from stride.identity.adapters.session_repository import FailureRepository, SessionRepository
from stride.platform.db.uow import UnitOfWork

SOURCE = "identity"


class IdentityUnitOfWork(UnitOfWork):
    users: UserRepository
    sessions: SessionRepository
    failures: FailureRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, SOURCE)

    def _open_repositories(self, session: AsyncSession) -> None:
        self.users = UserRepository(session)
        self.sessions = SessionRepository(session)
        self.failures = FailureRepository(session)
