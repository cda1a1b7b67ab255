"""Activity service process: `python -m stride.activity.main` (settings from STRIDE_* env)."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from pathlib import Path

from stride.activity.adapters.exercise_library import load_library
from stride.activity.adapters.health_repository import ROLLUP_TABLES, SAMPLES_TABLE
from stride.activity.adapters.partitions import PartitionPolicy
from stride.activity.config import ActivitySettings
from stride.activity.domain.health import Resolution
from stride.activity.entrypoints.grpc_servicer import ActivityServicer
from stride.activity.service_layer.health import HealthPolicy, maintain_partitions
from stride.activity.service_layer.unit_of_work import SOURCE, ActivityUnitOfWork
from stride.activity.v1 import activity_service_pb2_grpc as pb_grpc
from stride.platform.grpc.server import GrpcApp, ServiceRegistration
from stride.platform.service import foundation, run_service
from stride.platform.tasks import Periodic

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations" / "versions"
SERVICE_NAME = "stride.activity.v1.ActivityService"

_log = logging.getLogger("stride.activity")


async def sync_library(new_uow: partial[ActivityUnitOfWork], media_base_url: str) -> None:
    """Brings the shipped exercise library into the database (after migrations): rows a newer
    version changed are rewritten, a studio's own exercises are never touched."""
    library = load_library(media_base_url)
    async with new_uow() as uow:
        changed = await uow.exercises.sync_library(library.exercises, library.version)
        await uow.commit()
    _log.info("exercise library version %d: %d rows written", library.version, changed)


def partition_policies(settings: ActivitySettings) -> list[PartitionPolicy]:
    """How long each partitioned health table keeps its months."""
    samples = timedelta(days=settings.health_sample_retention_days)
    return [
        PartitionPolicy(SAMPLES_TABLE, samples),
        PartitionPolicy("health_sample_keys", samples),
        PartitionPolicy(
            ROLLUP_TABLES[Resolution.MINUTE],
            timedelta(days=settings.health_minute_rollup_retention_days),
        ),
        PartitionPolicy(
            ROLLUP_TABLES[Resolution.HOUR],
            timedelta(days=settings.health_hour_rollup_retention_days),
        ),
        PartitionPolicy(
            ROLLUP_TABLES[Resolution.DAY],
            timedelta(days=settings.health_day_rollup_retention_days),
        ),
    ]


async def keep_partitions(new_uow: partial[ActivityUnitOfWork], settings: ActivitySettings) -> None:
    created, dropped = await maintain_partitions(
        new_uow(), partition_policies(settings), settings.health_partitions_ahead
    )
    if created or dropped:
        _log.info("health partitions: created %s, dropped %s", created, dropped)


async def build_app(settings: ActivitySettings) -> GrpcApp:
    base = foundation(settings, SOURCE, MIGRATIONS)
    new_uow = partial(ActivityUnitOfWork, base.sessions)
    maintainer = partial(keep_partitions, new_uow, settings)
    # Run once before serving (an upload needs its month's partition), then periodically.
    partitions = Periodic("health-partitions", settings.health_partitions_every_seconds, maintainer)
    policy = HealthPolicy(
        timedelta(days=settings.health_sample_retention_days), settings.max_heart_rate
    )
    return GrpcApp(
        settings=settings,
        services=[
            ServiceRegistration(
                SERVICE_NAME,
                pb_grpc.add_ActivityServiceServicer_to_server,
                ActivityServicer(new_uow, policy),
            )
        ],
        on_start=[
            *base.on_start,
            partial(sync_library, new_uow, settings.media_base_url),
            maintainer,
            partitions.start,
        ],
        on_stop=[*base.on_stop, partitions.stop],
    )


def main() -> None:
    run_service(ActivitySettings, build_app)


if __name__ == "__main__":
    main()
