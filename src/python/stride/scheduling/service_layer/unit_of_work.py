"""Scheduling's unit of work: the platform's, with Scheduling's repositories."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.platform.db.uow import UnitOfWork
from stride.scheduling.adapters.repository import (
    AvailabilityRepository,
    BookingRepository,
    ClassRepository,
    StudioRepository,
)

SOURCE = "scheduling"


class SchedulingUnitOfWork(UnitOfWork):
    studios: StudioRepository
    classes: ClassRepository
    bookings: BookingRepository
    availability: AvailabilityRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, SOURCE)

    def _open_repositories(self, session: AsyncSession) -> None:
        self.studios = StudioRepository(session)
        self.classes = ClassRepository(session)
        self.bookings = BookingRepository(session)
        self.availability = AvailabilityRepository(session)
