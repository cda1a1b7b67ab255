"""Activity's unit of work: the platform's, with Activity's repositories."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.activity.adapters.provider_repository import (
    ConnectionRepository,
    ImportedActivityRepository,
)
from stride.activity.adapters.repository import (
    ExerciseRepository,
    RecordRepository,
    SessionRepository,
    TemplateRepository,
)
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.db.uow import UnitOfWork

SOURCE = "activity"


class ActivityUnitOfWork(UnitOfWork):
    exercises: ExerciseRepository
    templates: TemplateRepository
    sessions: SessionRepository
    records: RecordRepository
    connections: ConnectionRepository
    imported: ImportedActivityRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession], data_keys: DataKeyring) -> None:
        super().__init__(sessions, SOURCE)
        self.data_keys = data_keys  # Providers' tokens are sealed with them.

    def _open_repositories(self, session: AsyncSession) -> None:
        self.exercises = ExerciseRepository(session)
        self.templates = TemplateRepository(session)
        self.sessions = SessionRepository(session)
        self.records = RecordRepository(session)
        self.connections = ConnectionRepository(session, self.data_keys)
        self.imported = ImportedActivityRepository(session)
