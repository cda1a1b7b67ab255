"""Reads what a member's trends are computed from: health figures per local day and device
kind, and their sessions with the kilograms lifted in each."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from stride.activity.adapters.health_repository import DEVICE_CODES, KIND_CODES, ROLLUP_TABLES
from stride.activity.domain.health import Aggregate, HealthKind, Resolution, Rollup
from stride.activity.domain.sessions import SessionState
from stride.activity.domain.trends import SessionDone

_KIND_OF = {code: kind for kind, code in KIND_CODES.items()}
_DEVICE_OF = {code: kind for kind, code in DEVICE_CODES.items()}
_ZONE_SUMS = ", ".join(f"sum(zone{n}_seconds)" for n in range(1, 6))

# The hours summed per local day (and kind and device kind): an hour counts in the day it
# starts in, `date_trunc` in the zone following daylight saving. Hours, not the day rollups:
# those are UTC days, and a member's evening is another UTC day east or west of Greenwich. The
# primary key (member_id, kind, bucket_start, device_type) serves the range; the sums are
# hashed, not sorted.
_LOCAL_DAYS = (  # The table and columns are ours; every value is bound.
    "SELECT kind, device_type, date_trunc('day', bucket_start, :time_zone) AS day,"  # noqa: S608
    f" sum(sample_count), sum(total), min(minimum), max(maximum), {_ZONE_SUMS}"
    f" FROM {ROLLUP_TABLES[Resolution.HOUR]}"
    " WHERE member_id = :member_id AND kind = ANY(CAST(:kinds AS smallint[]))"
    " AND bucket_start >= :start AND bucket_start < :end"
    " GROUP BY kind, device_type, day"
)


class TrendRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def local_days(
        self,
        member_id: uuid.UUID,
        kinds: Collection[HealthKind],
        start: datetime,
        end: datetime,
        time_zone: str,
    ) -> list[Rollup]:
        """The member's figures of `kinds` per local day in `time_zone` (each starting at the
        day's local midnight) and device kind, from the hours in [start, end)."""
        if not kinds:
            return []
        found = await self._db.execute(
            text(_LOCAL_DAYS),
            {
                "member_id": member_id,
                "kinds": [KIND_CODES[kind] for kind in kinds],
                "start": start,
                "end": end,
                "time_zone": time_zone,
            },
        )
        return [
            Rollup(
                _KIND_OF[row[0]],
                _DEVICE_OF[row[1]],
                row[2],
                Aggregate(int(row[3]), row[4], row[5], row[6], tuple(row[7:12])),
            )
            for row in found
        ]

    async def sessions(
        self, member_id: uuid.UUID, start: datetime, end: datetime, time_zone: str
    ) -> list[SessionDone]:
        """The member's sessions started in [start, end) — completed, or prepared by a class
        check-in — on their local day, with the kilograms lifted in their sets."""
        found = await self._db.execute(
            text(
                "SELECT CAST(session.start_time AT TIME ZONE :time_zone AS date),"
                " session.class_session <> '', session.state = :completed,"
                " COALESCE(sum(logged.reps * logged.weight_kg)"
                " FILTER (WHERE NOT logged.deleted), 0)"
                " FROM workout_sessions AS session LEFT JOIN logged_sets AS logged"
                " ON logged.member_id = session.member_id AND logged.session_id = session.id"
                " WHERE session.member_id = :member_id"
                " AND session.start_time >= :start AND session.start_time < :end"
                " AND (session.state = :completed OR session.class_session <> '')"
                " GROUP BY session.member_id, session.id"
            ),
            {
                "member_id": member_id,
                "start": start,
                "end": end,
                "time_zone": time_zone,
                "completed": SessionState.COMPLETED.value,
            },
        )
        return [SessionDone(row[0], row[1], row[2], float(row[3])) for row in found]

    async def class_weeks(
        self, member_id: uuid.UUID, start: datetime, end: datetime, time_zone: str
    ) -> set[date]:
        """The Mondays (in `time_zone`) of the weeks in [start, end) the member attended a
        class in."""
        found = await self._db.execute(
            text(
                "SELECT DISTINCT CAST(date_trunc('week', start_time AT TIME ZONE :time_zone)"
                " AS date) FROM workout_sessions WHERE member_id = :member_id"
                " AND start_time >= :start AND start_time < :end AND class_session <> ''"
            ),
            {"member_id": member_id, "start": start, "end": end, "time_zone": time_zone},
        )
        return set(found.scalars())
