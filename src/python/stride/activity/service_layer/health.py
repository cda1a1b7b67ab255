"""Health data use cases: storing a phone's batch of samples with the rollups counting them,
correcting rollups after deletions, reading rollups by the member's device priority, and
keeping the monthly partitions (ADR 0014)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from stride.activity.domain.health import (
    DEFAULT_PRIORITY,
    DeviceType,
    HealthKind,
    PartitionPolicy,
    Rejection,
    Resolution,
    Rollup,
    RollupRange,
    StoredSample,
    aggregate,
    check_range,
    check_source,
    coarsen,
    consented,
    full_priority,
    judge,
    merge_all,
    pick_by_priority,
)
from stride.activity.service_layer.commands import (
    ListHealthRollups,
    UpdateHealthPriority,
    UploadHealthSamples,
)
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FailedPrecondition

# Past the raw samples' retention, how long a device that stopped uploading is still kept.
DEVICE_GRACE = timedelta(days=62)


@dataclass(frozen=True)
class HealthPolicy:
    sample_retention: timedelta
    max_heart_rate: float


@dataclass(frozen=True)
class UploadOutcome:
    accepted_count: int  # Stored by this upload.
    duplicate_count: int  # Stored by an earlier one: nothing changed.
    rejections: list[Rejection]  # In the request's order.
    deleted_count: int


async def upload_samples(
    uow: ActivityUnitOfWork,
    command: UploadHealthSamples,
    policy: HealthPolicy,
    clock: Clock = utcnow,
) -> UploadOutcome:
    """A phone's batch (from HealthKit or Health Connect), stored by `store_samples`."""
    check_source(command.source)
    return await store_samples(uow, command, policy, clock)


async def store_samples(
    uow: ActivityUnitOfWork,
    command: UploadHealthSamples,
    policy: HealthPolicy,
    clock: Clock = utcnow,
) -> UploadOutcome:
    """Removes the deleted samples and recomputes the buckets they counted in, stores the
    batch's new samples (a sample stored before is answered as a duplicate) and merges their
    figures into the minute, hour and day rollups, and keeps the sync anchor: all in one
    transaction, so an anchor never gets ahead of the samples it covers. The source is the
    caller's: a phone's is checked first (`upload_samples`), a provider's is its name."""
    now = clock()
    source = command.source
    member_id, device_type = command.member_id, command.device.type
    async with uow:
        consent = await uow.privacy.consent(member_id)
    judged = judge(command.samples, now, now - policy.sample_retention, consent)
    fit = judged.fit
    async with uow:
        # Deletions first: a record the platform changed in place (Health Connect updates keep
        # the id) comes as its id deleted and the record again.
        removed = await uow.health.remove_samples(member_id, source, command.deleted_sample_ids)
        await _recompute(uow, member_id, removed, policy.max_heart_rate)
        device_id = await uow.health.device_id(member_id, source, command.device, now)
        new_ids = await uow.health.claim_new(member_id, source, fit)
        fresh = fit if len(new_ids) == len(fit) else [s for s in fit if s.id in new_ids]
        await uow.health.copy_samples(member_id, device_id, fresh)
        minutes = aggregate(fresh, Resolution.MINUTE, policy.max_heart_rate)
        hours = coarsen(minutes, Resolution.HOUR)
        for resolution, figures in (
            (Resolution.MINUTE, minutes),
            (Resolution.HOUR, hours),
            (Resolution.DAY, coarsen(hours, Resolution.DAY)),
        ):
            await uow.health.merge_rollups(member_id, device_type, resolution, figures)
        if command.sync_anchor:
            await uow.health.save_anchor(member_id, source, command.sync_anchor, now)
        await uow.commit()
    return UploadOutcome(len(fresh), len(fit) - len(fresh), judged.rejections, len(removed))


async def _recompute(
    uow: ActivityUnitOfWork,
    member_id: uuid.UUID,
    removed: Sequence[StoredSample],
    max_heart_rate: float,
) -> None:
    """Recomputes the buckets removed samples counted in: each minute from its remaining raw
    samples, then each hour from its minutes and each day from its hours, so no repair reads
    more than a minute of raw samples."""
    touched = {(s.kind, s.device_type, Resolution.MINUTE.bucket(s.start_time)) for s in removed}
    health = uow.health
    # Each bucket is cleared before it is read from: READ COMMITTED reads afresh after the
    # clear waited for any upload holding the row (see HealthRepository.clear_rollup).
    for kind, device_type, minute in sorted(touched, key=_bucket_order):
        await health.clear_rollup(member_id, kind, device_type, Resolution.MINUTE, minute)
        left = await health.samples_between(
            member_id, kind, device_type, minute, minute + Resolution.MINUTE.length
        )
        figures = aggregate(left, Resolution.MINUTE, max_heart_rate)
        await health.merge_rollups(member_id, device_type, Resolution.MINUTE, figures)
    for finer, coarser in ((Resolution.MINUTE, Resolution.HOUR), (Resolution.HOUR, Resolution.DAY)):
        buckets = {(kind, device, coarser.bucket(start)) for kind, device, start in touched}
        for kind, device_type, start in sorted(buckets, key=_bucket_order):
            await health.clear_rollup(member_id, kind, device_type, coarser, start)
            parts = await health.rollups(
                member_id, RollupRange(kind, finer, start, start + coarser.length), device_type
            )
            merged = merge_all(part.figures for part in parts)
            if merged is not None:
                await health.merge_rollups(member_id, device_type, coarser, {(kind, start): merged})
        touched = buckets


def _bucket_order(key: tuple[HealthKind, DeviceType, datetime]) -> tuple[str, str, datetime]:
    kind, device_type, start = key
    return kind.value, device_type.value, start


async def list_rollups(uow: ActivityUnitOfWork, command: ListHealthRollups) -> list[Rollup]:
    wanted = check_range(command.wanted)
    async with uow:
        consent = await uow.privacy.consent(command.member_id)
    if not consented(wanted.kind, consent):
        raise FailedPrecondition("CONSENT_REQUIRED", "data_consent.heart_rate_required")
    async with uow:
        priority = await uow.health.priority(command.member_id) or DEFAULT_PRIORITY
        stored = await uow.health.rollups(command.member_id, wanted)
    return pick_by_priority(stored, priority)


async def get_anchor(
    uow: ActivityUnitOfWork, member_id: uuid.UUID, source: str
) -> tuple[str, datetime | None]:
    check_source(source, "name")
    async with uow:
        return await uow.health.anchor(member_id, source)


async def get_priority(uow: ActivityUnitOfWork, member_id: uuid.UUID) -> tuple[DeviceType, ...]:
    async with uow:
        return full_priority(await uow.health.priority(member_id) or DEFAULT_PRIORITY)


async def update_priority(
    uow: ActivityUnitOfWork, command: UpdateHealthPriority
) -> tuple[DeviceType, ...]:
    priority = full_priority(command.device_priority)
    async with uow:
        await uow.health.save_priority(command.member_id, priority)
        await uow.commit()
    return priority


async def maintain_partitions(
    uow: ActivityUnitOfWork,
    policies: list[PartitionPolicy],
    months_ahead: int,
    clock: Clock = utcnow,
    *,
    samples_kept: timedelta,
) -> tuple[list[str], list[str]]:
    """Creates the months ahead and drops those past retention; returns (created, dropped).
    Devices go once their samples have: a sample starts at most minutes after the upload that
    carried it, and its month's partition outlives the retention by at most a month."""
    now = clock()
    async with uow:
        changed = await uow.health.maintain_partitions(policies, now, months_ahead)
        await uow.health.forget_devices(now - samples_kept - DEVICE_GRACE)
        await uow.commit()
    return changed
