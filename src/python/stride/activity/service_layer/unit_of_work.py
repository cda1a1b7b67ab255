"""Activity's unit of work: the platform's, with Activity's repositories."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.activity.adapters.file_repository import BestEffortRepository, RouteRepository
from stride.activity.adapters.health_repository import HealthRepository
from stride.activity.adapters.provider_repository import (
    ConnectionRepository,
    ImportedActivityRepository,
)
from stride.activity.adapters.repository import (
    ExerciseRepository,
    GoalRepository,
    LiveUpdateRepository,
    PrivacyRepository,
    ProgramRepository,
    RecordRepository,
    SessionRepository,
    StreakRepository,
    TemplateRepository,
)
from stride.activity.adapters.trends_repository import TrendRepository
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
    programs: ProgramRepository
    streaks: StreakRepository
    goals: GoalRepository
    privacy: PrivacyRepository
    live: LiveUpdateRepository
    health: HealthRepository
    routes: RouteRepository
    best_efforts: BestEffortRepository
    trends: TrendRepository

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
        self.programs = ProgramRepository(session)
        self.streaks = StreakRepository(session)
        self.goals = GoalRepository(session)
        self.privacy = PrivacyRepository(session)
        self.live = LiveUpdateRepository(session)
        self.health = HealthRepository(session)
        self.routes = RouteRepository(session)
        self.best_efforts = BestEffortRepository(session)
        self.trends = TrendRepository(session)
