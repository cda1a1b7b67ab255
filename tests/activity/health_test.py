"""Health data against real Postgres: samples go in by binary COPY into monthly partitions made
ahead and dropped after retention, a batch uploaded twice (or twice at once) is stored once,
rollups merge batch by batch and are corrected by deletions, and overlapping devices are read
by the member's priority."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest_asyncio
from activity.support import POLICY, SETTINGS, consenting, make_months
from sqlalchemy import text

from stride.activity.domain.health import (
    Device,
    DeviceType,
    GivenSample,
    HealthKind,
    Rejection,
    Resolution,
    RollupRange,
)
from stride.activity.main import partition_policies
from stride.activity.service_layer import health
from stride.activity.service_layer.commands import (
    ListHealthRollups,
    UpdateHealthPriority,
    UploadHealthSamples,
)
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
SAMPLES_KEPT = timedelta(days=SETTINGS.health_sample_retention_days)
WATCH = Device(DeviceType.WATCH, "Apple Inc.", "Watch6,1", "Sara's Apple Watch")
PHONE = Device(DeviceType.PHONE, "Apple Inc.", "iPhone15,2", "Sara's iPhone")


def clock() -> datetime:
    return NOW


@pytest_asyncio.fixture(scope="module", autouse=True)
async def months_made(new_uow: partial[ActivityUnitOfWork]) -> None:
    await make_months(new_uow, clock)


def heart_rates(start: datetime, bpms: list[float], prefix: str = "hr") -> tuple[GivenSample, ...]:
    """One reading a second from `start`, as HealthKit sends them."""
    return tuple(
        GivenSample(f"{prefix}-{n}", HealthKind.HEART_RATE, bpm, "count/min", at, at)
        for n, bpm in enumerate(bpms)
        for at in [start + timedelta(seconds=n)]
    )


def steps(start: datetime, counts: list[float], prefix: str) -> tuple[GivenSample, ...]:
    """Step counts a minute each from `start`."""
    return tuple(
        GivenSample(
            f"{prefix}-{n}", HealthKind.STEPS, count, "count", at, at + timedelta(minutes=1)
        )
        for n, count in enumerate(counts)
        for at in [start + timedelta(minutes=n)]
    )


def batch(
    member: uuid.UUID,
    samples: tuple[GivenSample, ...],
    device: Device = WATCH,
    *,
    deleted: tuple[str, ...] = (),
    anchor: str = "",
) -> UploadHealthSamples:
    return UploadHealthSamples(member, "healthkit", device, samples, deleted, anchor)


async def upload(
    new_uow: partial[ActivityUnitOfWork], command: UploadHealthSamples
) -> health.UploadOutcome:
    return await health.upload_samples(new_uow(), command, POLICY, clock)


async def rollups(
    new_uow: partial[ActivityUnitOfWork],
    member: uuid.UUID,
    kind: HealthKind,
    resolution: Resolution,
    start: datetime,
    end: datetime,
) -> list[tuple[datetime, DeviceType, int, float, float, float]]:
    found = await health.list_rollups(
        new_uow(), ListHealthRollups(member, RollupRange(kind, resolution, start, end))
    )
    return [
        (
            r.start_time,
            r.device_type,
            r.figures.count,
            r.figures.total,
            r.figures.minimum,
            r.figures.maximum,
        )
        for r in found
    ]


async def raw_count(new_uow: partial[ActivityUnitOfWork], member: uuid.UUID) -> int:
    async with new_uow() as uow:
        found = await uow.session.execute(
            text("SELECT count(*) FROM health_samples WHERE member_id = :member"),
            {"member": member},
        )
        return int(found.scalar_one())


async def test_a_batch_goes_in_by_copy_with_its_rollups_and_anchor_and_bad_samples_answered(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = await consenting(new_uow, uuid.uuid4())
    start = NOW - timedelta(hours=2)
    readings = heart_rates(start, [100 + n % 80 for n in range(120)])
    bad = (
        GivenSample("zero", HealthKind.HEART_RATE, 0, "count/min", start, start),
        GivenSample(
            "later", HealthKind.HEART_RATE, 80, "count/min", NOW + timedelta(hours=1), None
        ),
        GivenSample("weight", HealthKind.HEART_RATE, 80, "kg", start, start),
    )
    outcome = await upload(new_uow, batch(member, readings + bad + readings[:1], anchor="anchor-1"))
    assert outcome.rejections == [
        Rejection(120, "zero", "health_sample.impossible_value"),
        Rejection(121, "later", "health_sample.in_future"),
        Rejection(122, "weight", "health_sample.unknown_unit"),
        Rejection(123, "hr-0", "health_sample.repeated"),
    ]
    assert (outcome.accepted_count, outcome.duplicate_count) == (120, 0)
    assert await raw_count(new_uow, member) == 120
    minutes = await rollups(
        new_uow,
        member,
        HealthKind.HEART_RATE,
        Resolution.MINUTE,
        start,
        start + timedelta(minutes=2),
    )
    assert minutes == [
        (start, DeviceType.WATCH, 60, sum(100 + n for n in range(60)), 100, 159),
        (
            start + timedelta(minutes=1),
            DeviceType.WATCH,
            60,
            sum(100 + (n % 80) for n in range(60, 120)),
            100,
            179,
        ),
    ]
    (hour,) = await rollups(
        new_uow, member, HealthKind.HEART_RATE, Resolution.HOUR, start, start + timedelta(hours=1)
    )
    assert hour[2:] == (120, sum(100 + n % 80 for n in range(120)), 100, 179)
    assert await health.get_anchor(new_uow(), member, "healthkit") == ("anchor-1", NOW)
    assert await health.get_anchor(new_uow(), member, "health_connect") == ("", None)


async def test_a_batch_sent_again_or_twice_at_once_is_stored_once(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = await consenting(new_uow, uuid.uuid4())
    start = NOW - timedelta(hours=3)
    command = batch(member, steps(start, [50, 60, 70], "steps"))
    first, racing = await asyncio.gather(upload(new_uow, command), upload(new_uow, command))
    again = await upload(new_uow, command)
    counts = sorted((o.accepted_count, o.duplicate_count) for o in (first, racing))
    assert counts == [(0, 3), (3, 0)]
    assert (again.accepted_count, again.duplicate_count, again.rejections) == (0, 3, [])
    assert await raw_count(new_uow, member) == 3
    (day,) = await rollups(
        new_uow, member, HealthKind.STEPS, Resolution.DAY, start, start + timedelta(days=1)
    )
    assert day[2:4] == (3, 180)


async def test_overlapping_batches_in_opposite_orders_at_once_store_each_sample_once(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = await consenting(new_uow, uuid.uuid4())
    start = NOW - timedelta(hours=4)
    samples = steps(start, [float(n) for n in range(1, 201)], "overlap")
    forward = batch(member, samples[:150])
    backward = batch(member, tuple(reversed(samples[50:])))
    outcomes = await asyncio.gather(*(upload(new_uow, c) for c in [forward, backward] * 3))
    assert sum(o.accepted_count for o in outcomes) == 200
    assert sum(o.duplicate_count for o in outcomes) == 6 * 150 - 200
    assert await raw_count(new_uow, member) == 200
    (hour,) = await rollups(
        new_uow, member, HealthKind.STEPS, Resolution.HOUR, start, start + timedelta(hours=1)
    )
    assert hour[2:4] == (60, sum(range(1, 61)))  # The hour's first 60 minutes.


async def test_deleting_samples_corrects_the_buckets_they_counted_in(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = await consenting(new_uow, uuid.uuid4())
    start = NOW - timedelta(hours=5)
    await upload(new_uow, batch(member, heart_rates(start, [120, 185, 130], "a")))
    await upload(new_uow, batch(member, heart_rates(start + timedelta(hours=1), [110], "b")))
    deleted = await upload(new_uow, batch(member, (), deleted=("a-1", "never-stored")))
    assert deleted.deleted_count == 1
    assert await raw_count(new_uow, member) == 3
    day_start = Resolution.DAY.bucket(start)
    assert await rollups(
        new_uow,
        member,
        HealthKind.HEART_RATE,
        Resolution.MINUTE,
        start,
        start + timedelta(minutes=1),
    ) == [(start, DeviceType.WATCH, 2, 250, 120, 130)]
    assert [
        r[2:]
        for r in await rollups(
            new_uow,
            member,
            HealthKind.HEART_RATE,
            Resolution.HOUR,
            start,
            start + timedelta(hours=2),
        )
    ] == [(2, 250, 120, 130), (1, 110, 110, 110)]
    (day,) = await rollups(
        new_uow,
        member,
        HealthKind.HEART_RATE,
        Resolution.DAY,
        day_start,
        day_start + timedelta(days=1),
    )
    assert day[2:] == (3, 360, 110, 130)
    found = await health.list_rollups(
        new_uow(),
        ListHealthRollups(
            member,
            RollupRange(
                HealthKind.HEART_RATE, Resolution.DAY, day_start, day_start + timedelta(days=1)
            ),
        ),
    )
    # 120 bpm is zone 2 (63 %), 130 zone 3 (68 % is zone 2: 130/190 = 0.684), 110 zone 1.
    assert found[0].figures.zone_seconds == (1, 2, 0, 0, 0)
    # Deleting what is left empties the buckets.
    await upload(new_uow, batch(member, (), deleted=("a-0", "a-2", "b-0")))
    assert (
        await rollups(
            new_uow,
            member,
            HealthKind.HEART_RATE,
            Resolution.DAY,
            day_start,
            day_start + timedelta(days=1),
        )
        == []
    )


async def test_a_record_changed_in_place_replaces_the_stored_one(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = await consenting(new_uow, uuid.uuid4())
    start = NOW - timedelta(hours=7)
    await upload(new_uow, batch(member, steps(start, [300, 100], "hc")))
    changed = steps(start, [250], "hc")  # Health Connect updated `hc-0`: same id, new count.
    outcome = await upload(new_uow, batch(member, changed, deleted=("hc-0",)))
    assert (outcome.accepted_count, outcome.deleted_count) == (1, 1)
    assert await raw_count(new_uow, member) == 2
    (hour,) = await rollups(
        new_uow, member, HealthKind.STEPS, Resolution.HOUR, start, start + timedelta(hours=1)
    )
    assert hour[2:] == (2, 350, 100, 250)


async def test_a_watch_and_a_phone_counting_the_same_day_are_read_by_the_member_s_priority(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = await consenting(new_uow, uuid.uuid4())
    start = NOW - timedelta(hours=6)
    await upload(new_uow, batch(member, steps(start, [100, 100], "watch"), WATCH))
    await upload(new_uow, batch(member, steps(start, [90, 95, 40], "phone"), PHONE))
    day = Resolution.DAY.bucket(start)
    span = (day, day + timedelta(days=1))
    assert [
        (r[1], r[3])
        for r in await rollups(new_uow, member, HealthKind.STEPS, Resolution.DAY, *span)
    ] == [(DeviceType.WATCH, 200)]
    chosen = await health.update_priority(
        new_uow(), UpdateHealthPriority(member, (DeviceType.PHONE,))
    )
    assert chosen[:2] == (DeviceType.PHONE, DeviceType.WATCH)
    assert await health.get_priority(new_uow(), member) == chosen
    assert [
        (r[1], r[3])
        for r in await rollups(new_uow, member, HealthKind.STEPS, Resolution.DAY, *span)
    ] == [(DeviceType.PHONE, 225)]


async def test_a_sample_older_than_retention_is_refused(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    member = await consenting(new_uow, uuid.uuid4())
    old = heart_rates(NOW - timedelta(days=91), [70], "old")
    outcome = await upload(new_uow, batch(member, old))
    assert outcome.rejections == [Rejection(0, "old-0", "health_sample.too_old")]
    assert outcome.accepted_count == 0


async def partitions(new_uow: partial[ActivityUnitOfWork], table: str) -> list[str]:
    async with new_uow() as uow:
        found = await uow.session.execute(
            text(
                "SELECT child.relname FROM pg_inherits"
                " JOIN pg_class child ON child.oid = pg_inherits.inhrelid"
                " JOIN pg_class parent ON parent.oid = pg_inherits.inhparent"
                " WHERE parent.relname = :table ORDER BY child.relname"
            ),
            {"table": table},
        )
        return list(found.scalars())


async def test_months_are_made_ahead_and_dropped_after_retention(
    new_uow: partial[ActivityUnitOfWork],
) -> None:
    """Last in the module: it moves the clock past the other tests' samples."""
    assert await partitions(new_uow, "health_samples") == [
        f"health_samples_p{month}"
        for month in ("202609", "202610", "202611", "202612", "202701", "202702")
    ]
    member = await consenting(new_uow, uuid.uuid4())
    await upload(new_uow, batch(member, steps(NOW - timedelta(hours=1), [10], "s")))
    later = NOW + timedelta(days=100)  # 2027-03-12: samples keep 90 days, so to 2026-12-12.
    created, dropped = await health.maintain_partitions(
        new_uow(), partition_policies(SETTINGS), 2, lambda: later, samples_kept=SAMPLES_KEPT
    )
    assert "health_samples_p202705" in created
    assert "health_samples_p202611" in dropped
    assert await partitions(new_uow, "health_samples") == [
        f"health_samples_p{month}"
        for month in ("202612", "202701", "202702", "202703", "202704", "202705")
    ]
    much_later = NOW + timedelta(days=140)  # 2027-04-21: December's samples are past retention.
    await health.maintain_partitions(
        new_uow(), partition_policies(SETTINGS), 2, lambda: much_later, samples_kept=SAMPLES_KEPT
    )
    assert await raw_count(new_uow, member) == 0
    assert "health_rollups_minute_p202612" not in await partitions(new_uow, "health_rollups_minute")
    # Day rollups keep ten years: the member's December is still there.
    day = Resolution.DAY.bucket(NOW)
    (kept,) = await rollups(
        new_uow, member, HealthKind.STEPS, Resolution.DAY, day, day + timedelta(days=1)
    )
    assert kept[3] == 10
    # Running again changes nothing.
    assert await health.maintain_partitions(
        new_uow(), partition_policies(SETTINGS), 2, lambda: much_later, samples_kept=SAMPLES_KEPT
    ) == ([], [])
    assert await devices(new_uow, member) == 1
    # Devices outlive their last upload by the samples' retention and two months.
    forgotten = NOW + timedelta(days=90 + 62, seconds=1)
    await health.maintain_partitions(
        new_uow(), partition_policies(SETTINGS), 2, lambda: forgotten, samples_kept=SAMPLES_KEPT
    )
    assert await devices(new_uow, member) == 0


async def devices(new_uow: partial[ActivityUnitOfWork], member: uuid.UUID) -> int:
    async with new_uow() as uow:
        found = await uow.session.execute(
            text("SELECT count(*) FROM health_devices WHERE member_id = :member"),
            {"member": member},
        )
        return int(found.scalar_one())
