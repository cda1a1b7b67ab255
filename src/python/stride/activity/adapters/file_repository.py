"""Routes of uploaded activities and members' best efforts."""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from stride.activity.adapters.tables import (
    ActivityRouteRecord,
    BestEffortRecord,
    ImportedActivityRecord,
)
from stride.activity.domain.activity_files import Route, RoutePoint
from stride.activity.domain.best_efforts import BestEffort, EffortDistance
from stride.activity.domain.providers import Provider, imported_activity_id


class RouteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def put(self, provider: Provider, external_id: str, route: Route) -> None:
        """Keeps the route of a stored activity, over any kept before."""
        points = route.points
        row = {
            "provider": provider.value,
            "external_id": external_id,
            "member_id": route.member_id,
            "times": [point.time for point in points],
            "latitudes": [point.latitude for point in points],
            "longitudes": [point.longitude for point in points],
            "elevations": [point.elevation_meters for point in points],
        }
        statement = insert(ActivityRouteRecord).values(row)
        await self._db.execute(
            statement.on_conflict_do_update(
                index_elements=["provider", "external_id"],
                set_={key: statement.excluded[key] for key in row if key != "member_id"},
            )
        )

    async def get(self, member_id: uuid.UUID, provider: Provider, external_id: str) -> Route | None:
        found = await self._db.execute(
            select(ActivityRouteRecord, ImportedActivityRecord)
            .join(
                ImportedActivityRecord,
                (col(ImportedActivityRecord.provider) == col(ActivityRouteRecord.provider))
                & (col(ImportedActivityRecord.external_id) == col(ActivityRouteRecord.external_id)),
            )
            .where(
                col(ActivityRouteRecord.member_id) == member_id,
                col(ActivityRouteRecord.provider) == provider.value,
                col(ActivityRouteRecord.external_id) == external_id,
            )
        )
        row = found.first()
        return None if row is None else _route(*row)

    async def of_member(self, member_id: uuid.UUID, offset: int, limit: int) -> list[Route]:
        """The member's routes, latest activity first."""
        found = await self._db.execute(
            select(ActivityRouteRecord, ImportedActivityRecord)
            .join(
                ImportedActivityRecord,
                (col(ImportedActivityRecord.provider) == col(ActivityRouteRecord.provider))
                & (col(ImportedActivityRecord.external_id) == col(ActivityRouteRecord.external_id)),
            )
            .where(col(ActivityRouteRecord.member_id) == member_id)
            .order_by(
                col(ImportedActivityRecord.start_time).desc(),
                col(ActivityRouteRecord.external_id),
            )
            .offset(offset)
            .limit(limit)
        )
        return [_route(*row) for row in found.all()]

    async def forget(self, member_id: uuid.UUID) -> None:
        await self._db.execute(
            delete(ActivityRouteRecord).where(col(ActivityRouteRecord.member_id) == member_id)
        )


def _route(record: ActivityRouteRecord, activity: ImportedActivityRecord) -> Route:
    return Route(
        member_id=record.member_id,
        activity_id=imported_activity_id(Provider(record.provider), record.external_id),
        display_name=activity.display_name,
        sport=activity.sport_type,
        points=tuple(
            RoutePoint(time, latitude, longitude, elevation)
            for time, latitude, longitude, elevation in zip(
                record.times, record.latitudes, record.longitudes, record.elevations, strict=True
            )
        ),
    )


class BestEffortRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def of_member(self, member_id: uuid.UUID) -> dict[EffortDistance, BestEffort]:
        found = await self._db.execute(
            select(BestEffortRecord).where(col(BestEffortRecord.member_id) == member_id)
        )
        efforts = (_effort(record) for record in found.scalars())
        return {effort.distance: effort for effort in efforts}

    async def put(self, effort: BestEffort) -> None:
        row = {
            "member_id": effort.member_id,
            "distance": effort.distance.value,
            "elapsed_seconds": effort.elapsed_seconds,
            "activity_id": effort.activity_id,
            "start_time": effort.start_time,
        }
        statement = insert(BestEffortRecord).values(row)
        await self._db.execute(
            statement.on_conflict_do_update(
                index_elements=["member_id", "distance"],
                set_={key: statement.excluded[key] for key in row},
            )
        )


def _effort(record: BestEffortRecord) -> BestEffort:
    return BestEffort(
        member_id=record.member_id,
        distance=EffortDistance(record.distance),
        elapsed_seconds=record.elapsed_seconds,
        activity_id=record.activity_id,
        start_time=record.start_time,
    )
