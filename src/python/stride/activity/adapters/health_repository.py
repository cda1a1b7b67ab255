"""Stores health samples (binary COPY into the month's partition), their rollups (merged in
place), members' sync anchors and device priorities. Every statement runs in the unit of
work's transaction, COPY included: samples and the rollups counting them commit together."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from stride.activity.adapters.partitions import maintain
from stride.activity.domain.health import (
    Aggregate,
    Device,
    DeviceType,
    HealthKind,
    PartitionPolicy,
    Resolution,
    Rollup,
    RollupRange,
    Sample,
    StoredSample,
)

# Codes stored for kinds and device kinds: a smallint per raw row instead of a string.
KIND_CODES = {
    HealthKind.HEART_RATE: 1,
    HealthKind.RESTING_HEART_RATE: 2,
    HealthKind.STEPS: 3,
    HealthKind.DISTANCE: 4,
    HealthKind.ACTIVE_ENERGY: 5,
}
DEVICE_CODES = {
    DeviceType.WATCH: 1,
    DeviceType.FITNESS_BAND: 2,
    DeviceType.RING: 3,
    DeviceType.CHEST_STRAP: 4,
    DeviceType.PHONE: 5,
    DeviceType.SCALE: 6,
    DeviceType.OTHER: 7,
}
_KIND_OF = {code: kind for kind, code in KIND_CODES.items()}
_DEVICE_OF = {code: kind for kind, code in DEVICE_CODES.items()}
ROLLUP_TABLES = {
    Resolution.MINUTE: "health_rollups_minute",
    Resolution.HOUR: "health_rollups_hour",
    Resolution.DAY: "health_rollups_day",
}
SAMPLES_TABLE = "health_samples"
SAMPLE_COLUMNS = ("member_id", "start_time", "end_time", "kind", "value", "device_id", "sample_id")
_ZONES = ", ".join(f"zone{n}_seconds" for n in range(1, 6))
_FIGURES = f"sample_count, total, minimum, maximum, {_ZONES}"
# The merge of `Aggregate.merge`, in SQL: a batch's figures added to the stored bucket's.
_MERGE = ", ".join(
    [
        "sample_count = stored.sample_count + EXCLUDED.sample_count",
        "total = stored.total + EXCLUDED.total",
        "minimum = LEAST(stored.minimum, EXCLUDED.minimum)",
        "maximum = GREATEST(stored.maximum, EXCLUDED.maximum)",
        *(
            f"zone{n}_seconds = stored.zone{n}_seconds + EXCLUDED.zone{n}_seconds"
            for n in range(1, 6)
        ),
    ]
)


# A sample's identity among a member's, `md5(source || '/' || id)::uuid`: its source and the
# platform's id for it, hashed by Postgres to 16 bytes so the key index stays narrow whatever
# the platform's ids look like (md5 as a hash, not for secrecy; sources hold no `/`, so a pair
# maps to one string). Claiming writes a batch's keys with the samples' start times and returns
# the ids no earlier upload stored; in key order, so uploads overlapping in any order never
# deadlock on each other's keys.
_CLAIM = (
    "WITH batch AS (SELECT id, start_time, md5($2 || '/' || id)::uuid AS sample_key"
    " FROM unnest($3::text[], $4::timestamptz[]) AS given (id, start_time)),"
    " claimed AS (INSERT INTO health_sample_keys (member_id, sample_key, start_time)"
    " SELECT $1, sample_key, start_time FROM batch ORDER BY sample_key"
    " ON CONFLICT DO NOTHING RETURNING sample_key)"
    " SELECT batch.id FROM batch JOIN claimed USING (sample_key)"
)


class HealthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def device_id(
        self, member_id: uuid.UUID, source: str, device: Device, now: datetime
    ) -> int:
        """The id of the member's device, recorded the first time it uploads."""
        values = {
            "now": now,
            "member_id": member_id,
            "source": source,
            "type": DEVICE_CODES[device.type],
            "manufacturer": device.manufacturer,
            "model": device.model,
            "name": device.name,
        }
        found = await self._db.execute(
            text(
                "INSERT INTO health_devices"
                " (member_id, source, type, manufacturer, model, name, last_upload_time)"
                " VALUES (:member_id, :source, :type, :manufacturer, :model, :name, :now)"
                " ON CONFLICT ON CONSTRAINT health_devices_once"
                " DO UPDATE SET last_upload_time = EXCLUDED.last_upload_time RETURNING id"
            ),
            values,
        )
        return int(found.scalar_one())

    async def claim_new(
        self, member_id: uuid.UUID, source: str, samples: Sequence[Sample]
    ) -> set[str]:
        """Records the samples' keys and returns the ids of those not stored before. A sample
        uploaded concurrently by another request waits for it, then counts as stored."""
        if not samples:
            return set()
        connection = await self._asyncpg()
        claimed = await connection.fetch(
            _CLAIM, member_id, source, [s.id for s in samples], [s.start_time for s in samples]
        )
        return {row[0] for row in claimed}

    async def copy_samples(
        self, member_id: uuid.UUID, device_id: int, samples: Iterable[Sample]
    ) -> int:
        """Appends the samples with binary COPY on the transaction's own connection."""
        records = [
            (member_id, s.start_time, s.end_time, KIND_CODES[s.kind], s.value, device_id, s.id)
            for s in samples
        ]
        if records:
            connection = await self._asyncpg()
            await connection.copy_records_to_table(
                SAMPLES_TABLE, records=records, columns=SAMPLE_COLUMNS
            )
        return len(records)

    async def merge_rollups(
        self,
        member_id: uuid.UUID,
        device_type: DeviceType,
        resolution: Resolution,
        figures: dict[tuple[HealthKind, datetime], Aggregate],
    ) -> None:
        """Adds a batch's figures to the stored buckets (creating those it starts). Rows are
        written in key order, so concurrent uploads of one member lock them in one order."""
        if not figures:
            return
        ordered = sorted(figures.items(), key=lambda item: (KIND_CODES[item[0][0]], item[0][1]))
        columns: dict[str, list[Any]] = {
            "kinds": [KIND_CODES[kind] for (kind, _), _ in ordered],
            "starts": [start for (_, start), _ in ordered],
            "counts": [a.count for _, a in ordered],
            "totals": [a.total for _, a in ordered],
            "minimums": [a.minimum for _, a in ordered],
            "maximums": [a.maximum for _, a in ordered],
            **{f"zone{n}": [a.zone_seconds[n - 1] for _, a in ordered] for n in range(1, 6)},
        }
        table = ROLLUP_TABLES[resolution]
        await self._db.execute(
            text(  # The table is one of ROLLUP_TABLES; every value is bound.
                f"INSERT INTO {table} AS stored (member_id, device_type, kind, bucket_start,"  # noqa: S608
                f" {_FIGURES}) SELECT :member_id, :device_type, * FROM unnest("
                " CAST(:kinds AS smallint[]), CAST(:starts AS timestamptz[]),"
                " CAST(:counts AS bigint[]), CAST(:totals AS float8[]),"
                " CAST(:minimums AS float8[]), CAST(:maximums AS float8[]),"
                + ", ".join(f"CAST(:zone{n} AS float8[])" for n in range(1, 6))
                + ") ON CONFLICT (member_id, kind, bucket_start, device_type) DO UPDATE SET "
                + _MERGE
            ),
            {"member_id": member_id, "device_type": DEVICE_CODES[device_type], **columns},
        )

    async def remove_samples(
        self, member_id: uuid.UUID, source: str, sample_ids: Sequence[str]
    ) -> list[StoredSample]:
        """Removes the member's samples of `source` with these platform ids (those stored) and
        says where they counted."""
        if not sample_ids:
            return []
        ids = list(dict.fromkeys(sample_ids))
        claimed = await self._db.execute(
            text(
                "DELETE FROM health_sample_keys WHERE member_id = :member_id AND sample_key IN"
                " (SELECT md5(:source || '/' || id)::uuid FROM unnest(CAST(:ids AS text[])) id)"
                " RETURNING start_time"
            ),
            {"member_id": member_id, "source": source, "ids": ids},
        )
        starts: list[datetime] = sorted(set(claimed.scalars()))
        if not starts:
            return []
        # The BRIN narrows each lookup to the blocks around the sample's exact start time.
        removed = await self._db.execute(
            text(
                "DELETE FROM health_samples AS sample USING health_devices AS device"
                " WHERE sample.device_id = device.id AND device.source = :source"
                " AND sample.member_id = :member_id"
                " AND sample.start_time = ANY(CAST(:starts AS timestamptz[]))"
                " AND sample.sample_id = ANY(CAST(:ids AS varchar[]))"
                " RETURNING sample.kind, device.type, sample.start_time"
            ),
            {
                "member_id": member_id,
                "source": source,
                "starts": starts,
                "ids": ids,
            },
        )
        return [StoredSample(_KIND_OF[row[0]], _DEVICE_OF[row[1]], row[2]) for row in removed.all()]

    async def forget(self, member_id: uuid.UUID, kinds: Collection[HealthKind] = ()) -> None:
        """Deletes the member's samples of `kinds` with their keys and rollups — or, with no
        kinds, everything Activity holds of their health data (devices, anchors, settings)."""
        every_kind = not kinds
        codes = [KIND_CODES[kind] for kind in (kinds or HealthKind)]
        params: dict[str, Any] = {"member_id": member_id, "kinds": codes}
        if every_kind:
            await self._db.execute(
                text("DELETE FROM health_sample_keys WHERE member_id = :member_id"), params
            )
        else:  # A sample's key is a hash of its source and platform id (`claim_new`).
            await self._db.execute(
                text(
                    "DELETE FROM health_sample_keys AS claimed"
                    " USING health_samples AS stored JOIN health_devices AS device"
                    " ON stored.device_id = device.id"
                    " WHERE stored.member_id = :member_id"
                    " AND stored.kind = ANY(CAST(:kinds AS smallint[]))"
                    " AND claimed.member_id = :member_id"
                    " AND claimed.start_time = stored.start_time"
                    " AND claimed.sample_key = md5(device.source || '/' || stored.sample_id)::uuid"
                ),
                params,
            )
        # Rare (a withdrawal, a member's deletion): it reads every kept month, the BRIN being
        # on time only.
        for table in (SAMPLES_TABLE, *ROLLUP_TABLES.values()):
            await self._db.execute(
                text(
                    f"DELETE FROM {table} WHERE member_id = :member_id"  # noqa: S608 - ours.
                    " AND kind = ANY(CAST(:kinds AS smallint[]))"
                ),
                params,
            )
        if every_kind:
            for table in ("health_devices", "health_sync_anchors", "health_settings"):
                await self._db.execute(
                    text(f"DELETE FROM {table} WHERE member_id = :member_id"),  # noqa: S608
                    params,
                )

    async def samples_between(
        self,
        member_id: uuid.UUID,
        kind: HealthKind,
        device_type: DeviceType,
        start: datetime,
        end: datetime,
    ) -> list[Sample]:
        found = await self._db.execute(
            text(
                "SELECT sample.sample_id, sample.value, sample.start_time, sample.end_time"
                " FROM health_samples AS sample JOIN health_devices AS device"
                " ON device.id = sample.device_id"
                " WHERE sample.member_id = :member_id AND sample.kind = :kind"
                " AND device.type = :device_type"
                " AND sample.start_time >= :start AND sample.start_time < :end"
            ),
            {
                "member_id": member_id,
                "kind": KIND_CODES[kind],
                "device_type": DEVICE_CODES[device_type],
                "start": start,
                "end": end,
            },
        )
        return [Sample(row[0], kind, row[1], row[2], row[3]) for row in found]

    async def rollups(
        self, member_id: uuid.UUID, wanted: RollupRange, device_type: DeviceType | None = None
    ) -> list[Rollup]:
        """The stored buckets of the range, of every device kind (or of `device_type`)."""
        found = await self._db.execute(
            text(
                f"SELECT bucket_start, device_type, {_FIGURES}"  # noqa: S608 - a ROLLUP_TABLES table.
                f" FROM {ROLLUP_TABLES[wanted.resolution]}"
                " WHERE member_id = :member_id AND kind = :kind"
                " AND bucket_start >= :start AND bucket_start < :end"
                + ("" if device_type is None else " AND device_type = :device_type")
                + " ORDER BY bucket_start"
            ),
            {
                "member_id": member_id,
                "kind": KIND_CODES[wanted.kind],
                "start": wanted.start_time,
                "end": wanted.end_time,
                "device_type": DEVICE_CODES[device_type] if device_type else None,
            },
        )
        return [
            Rollup(
                wanted.kind,
                _DEVICE_OF[row[1]],
                row[0],
                Aggregate(int(row[2]), row[3], row[4], row[5], tuple(row[6:11])),
            )
            for row in found
        ]

    async def day_rollups_of(self, member_id: uuid.UUID, offset: int, limit: int) -> list[Rollup]:
        """Every day the member has figures for, of every kind and device kind, a page at a
        time (for the export: oldest first, by kind)."""
        found = await self._db.execute(
            text(
                f"SELECT kind, bucket_start, device_type, {_FIGURES}"  # noqa: S608 - ours.
                f" FROM {ROLLUP_TABLES[Resolution.DAY]} WHERE member_id = :member_id"
                " ORDER BY kind, bucket_start, device_type OFFSET :offset LIMIT :limit"
            ),
            {"member_id": member_id, "offset": offset, "limit": limit},
        )
        return [
            Rollup(
                _KIND_OF[row[0]],
                _DEVICE_OF[row[2]],
                row[1],
                Aggregate(int(row[3]), row[4], row[5], row[6], tuple(row[7:12])),
            )
            for row in found
        ]

    async def clear_rollup(
        self,
        member_id: uuid.UUID,
        kind: HealthKind,
        device_type: DeviceType,
        resolution: Resolution,
        start: datetime,
    ) -> None:
        """Removes one bucket's figures, to be recomputed. Its row stays locked to the end of
        the transaction: an upload merging into it waits, then merges into the recomputed row
        (or, having merged first, is committed before the recomputation reads)."""
        table = ROLLUP_TABLES[resolution]
        key = {
            "member_id": member_id,
            "kind": KIND_CODES[kind],
            "device_type": DEVICE_CODES[device_type],
            "start": start,
        }
        await self._db.execute(
            text(
                f"DELETE FROM {table} WHERE member_id = :member_id AND kind = :kind"  # noqa: S608
                " AND device_type = :device_type AND bucket_start = :start"
            ),
            key,
        )

    async def anchor(self, member_id: uuid.UUID, source: str) -> tuple[str, datetime | None]:
        found = await self._db.execute(
            text(
                "SELECT anchor, update_time FROM health_sync_anchors"
                " WHERE member_id = :member_id AND source = :source"
            ),
            {"member_id": member_id, "source": source},
        )
        row = found.first()
        return (row[0], row[1]) if row else ("", None)

    async def save_anchor(
        self, member_id: uuid.UUID, source: str, anchor: str, now: datetime
    ) -> None:
        await self._db.execute(
            text(
                "INSERT INTO health_sync_anchors (member_id, source, anchor, update_time)"
                " VALUES (:member_id, :source, :anchor, :now) ON CONFLICT (member_id, source)"
                " DO UPDATE SET anchor = EXCLUDED.anchor, update_time = EXCLUDED.update_time"
            ),
            {"member_id": member_id, "source": source, "anchor": anchor, "now": now},
        )

    async def priority(self, member_id: uuid.UUID) -> tuple[DeviceType, ...] | None:
        found = await self._db.execute(
            text("SELECT device_priority FROM health_settings WHERE member_id = :member_id"),
            {"member_id": member_id},
        )
        row = found.first()
        return tuple(DeviceType(value) for value in row[0]) if row else None

    async def save_priority(self, member_id: uuid.UUID, priority: Sequence[DeviceType]) -> None:
        await self._db.execute(
            text(
                "INSERT INTO health_settings (member_id, device_priority)"
                " VALUES (:member_id, :priority) ON CONFLICT (member_id)"
                " DO UPDATE SET device_priority = EXCLUDED.device_priority"
            ),
            {"member_id": member_id, "priority": [kind.value for kind in priority]},
        )

    async def forget_devices(self, unseen_since: datetime) -> int:
        """Removes devices that have not uploaded since `unseen_since`; how many."""
        found = await self._db.execute(
            text("DELETE FROM health_devices WHERE last_upload_time < :unseen_since"),
            {"unseen_since": unseen_since},
        )
        return int(found.rowcount)  # type: ignore[attr-defined]

    async def maintain_partitions(
        self, policies: list[PartitionPolicy], now: datetime, months_ahead: int
    ) -> tuple[list[str], list[str]]:
        return await maintain(self._db, policies, now, months_ahead)

    async def _asyncpg(self) -> Any:
        """The asyncpg connection under the session's transaction (for COPY)."""
        connection = await self._db.connection()
        raw = await connection.get_raw_connection()
        return raw.driver_connection
