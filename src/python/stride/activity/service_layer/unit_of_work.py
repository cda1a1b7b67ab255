"""Activity's unit of work: the platform's, with Activity's repositories."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.activity.adapters.health_repository import HealthRepository
from stride.activity.adapters.repository import (
    ExerciseRepository,
    RecordRepository,
    SessionRepository,
    TemplateRepository,
)
from stride.platform.db.uow import UnitOfWork

SOURCE = "activity"


class ActivityUnitOfWork(UnitOfWork):
    exercises: ExerciseRepository
    templates: TemplateRepository
    sessions: SessionRepository
    records: RecordRepository
    health: HealthRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, SOURCE)

    def _open_repositories(self, session: AsyncSession) -> None:
        self.exercises = ExerciseRepository(session)
        self.templates = TemplateRepository(session)
        self.sessions = SessionRepository(session)
        self.records = RecordRepository(session)
        self.health = HealthRepository(session)
