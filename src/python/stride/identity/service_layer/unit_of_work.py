"""Identity's unit of work: the platform's, with Identity's repositories."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.identity.adapters.mfa_repository import MfaRepository
from stride.identity.adapters.repository import UserRepository
from stride.identity.adapters.session_repository import FailureRepository, SessionRepository
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.db.uow import UnitOfWork

SOURCE = "identity"


class IdentityUnitOfWork(UnitOfWork):
    users: UserRepository
    sessions: SessionRepository
    failures: FailureRepository
    mfa: MfaRepository

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        data_keys: DataKeyring,
        event_secrets: DataKeyring,
    ) -> None:
        super().__init__(sessions, SOURCE)
        self.data_keys = data_keys
        self.event_secrets = event_secrets  # Seal the tokens events carry to Notifications.

    def _open_repositories(self, session: AsyncSession) -> None:
        self.users = UserRepository(session)
        self.sessions = SessionRepository(session)
        self.failures = FailureRepository(session)
        self.mfa = MfaRepository(session, self.data_keys)
