"""Activity service process: `python -m stride.activity.main` (settings from STRIDE_* env)."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from pathlib import Path

from stride.activity.adapters.activity_files import ActivityFileFormats
from stride.activity.adapters.change_queue import QUEUE_NAME, JetStreamChangeQueue
from stride.activity.adapters.exercise_library import load_library
from stride.activity.adapters.fitbit import FitbitClient
from stride.activity.adapters.garmin import GarminClient
from stride.activity.adapters.health_repository import ROLLUP_TABLES, SAMPLES_TABLE
from stride.activity.adapters.provider_repository import prune_expired_authorizations
from stride.activity.adapters.repository import prune_live_updates
from stride.activity.adapters.strava import StravaClient
from stride.activity.config import ActivitySettings
from stride.activity.domain.health import PartitionPolicy, Resolution
from stride.activity.domain.providers import Provider
from stride.activity.entrypoints.grpc_servicer import ActivityServicer, ProviderWiring
from stride.activity.entrypoints.import_worker import import_changes
from stride.activity.service_layer import handlers
from stride.activity.service_layer.health import HealthPolicy, maintain_partitions
from stride.activity.service_layer.ports import WearableProvider
from stride.activity.service_layer.unit_of_work import SOURCE, ActivityUnitOfWork
from stride.activity.v1 import activity_service_pb2_grpc as pb_grpc
from stride.platform.clock import utcnow
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.events.live import LiveSignals
from stride.platform.events.work_queue import WorkQueue, WorkQueuePublisher, WorkQueueWorker
from stride.platform.grpc.server import GrpcApp, ServiceRegistration
from stride.platform.service import foundation, run_service
from stride.platform.tasks import Periodic

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations" / "versions"
# Streaks lapse at members' midnights, all day round the world: looked for every few minutes.
STREAK_SWEEP_SECONDS = 300.0
STREAK_SWEEP_BATCH = 500
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
        new_uow(),
        partition_policies(settings),
        settings.health_partitions_ahead,
        samples_kept=timedelta(days=settings.health_sample_retention_days),
    )
    if created or dropped:
        _log.info("health partitions: created %s, dropped %s", created, dropped)


ProviderClient = StravaClient | FitbitClient | GarminClient


def wearable_providers(settings: ActivitySettings) -> dict[Provider, ProviderClient]:
    """The providers configured with credentials; the others are not offered."""
    configured: dict[Provider, ProviderClient] = {}
    if settings.garmin_client_id:
        configured[Provider.GARMIN] = GarminClient(
            client_id=settings.garmin_client_id,
            client_secret=settings.garmin_client_secret.get_secret_value(),
            redirect_uri=settings.garmin_redirect_uri,
            connect_base=settings.garmin_connect_base,
            auth_base=settings.garmin_auth_base,
            api_base=settings.garmin_api_base,
        )
    if settings.fitbit_client_id:
        configured[Provider.FITBIT] = FitbitClient(
            client_id=settings.fitbit_client_id,
            client_secret=settings.fitbit_client_secret.get_secret_value(),
            redirect_uri=settings.fitbit_redirect_uri,
            authorize_base=settings.fitbit_authorize_base,
            api_base=settings.fitbit_api_base,
        )
    if settings.strava_client_id:
        configured[Provider.STRAVA] = StravaClient(
            client_id=settings.strava_client_id,
            client_secret=settings.strava_client_secret.get_secret_value(),
            redirect_uri=settings.strava_redirect_uri,
            oauth_base=settings.strava_oauth_base,
            api_base=settings.strava_api_base,
        )
    return configured


async def build_app(settings: ActivitySettings) -> GrpcApp:
    base = foundation(settings, SOURCE, MIGRATIONS)
    data_keys = DataKeyring.from_spec(settings.data_keys, settings.data_key_active)
    new_uow = partial(ActivityUnitOfWork, base.sessions, data_keys)
    clients = wearable_providers(settings)
    providers: dict[Provider, WearableProvider] = dict(clients)
    policy = HealthPolicy(
        timedelta(days=settings.health_sample_retention_days),
        float(settings.default_max_heart_rate),
    )
    queue = WorkQueue(settings.events_prefix, QUEUE_NAME, settings.import_queue_max_age_seconds)
    publisher = WorkQueuePublisher(queue, settings.nats_url)
    worker = WorkQueueWorker(
        queue,
        import_changes(new_uow, providers, policy),
        nats_url=settings.nats_url,
        service=settings.service_name,
        durable_name="activity-imports",
        dead_letter_limits=settings.dead_letter_limits,
        max_deliver=settings.import_max_deliveries,
        backoff_seconds=settings.import_backoff_seconds,
    )

    async def prune_authorizations() -> None:
        await prune_expired_authorizations(base.sessions, utcnow())

    authorization_pruner = Periodic(
        "prune-pending-authorizations", settings.prune_every_seconds, prune_authorizations
    )
    wiring = ProviderWiring(
        providers,
        JetStreamChangeQueue(publisher),
        settings.strava_verify_token.get_secret_value(),
        settings.strava_subscription_id,
        settings.fitbit_verification_code.get_secret_value(),
        settings.fitbit_client_secret.get_secret_value(),
        settings.garmin_client_id,
    )
    check_ins = base.consumer(
        new_uow,
        handlers.prepare_class_session,
        source="scheduling",
        event_type=handlers.CHECKED_IN,
        durable_name="activity-prepare-class-session",
    )

    async def end_lapsed_streaks() -> None:
        while await handlers.announce_broken_streaks(new_uow(), utcnow(), STREAK_SWEEP_BATCH) == (
            STREAK_SWEEP_BATCH
        ):
            pass

    streak_sweeper = Periodic("end-lapsed-streaks", STREAK_SWEEP_SECONDS, end_lapsed_streaks)
    live = LiveSignals(settings.nats_url, settings.events_prefix, SOURCE)
    retention = timedelta(seconds=settings.live_update_retention_seconds)

    async def prune_live() -> None:
        await prune_live_updates(base.sessions, utcnow() - retention)

    live_pruner = Periodic(
        "prune-live-updates", settings.live_update_prune_every_seconds, prune_live
    )
    maintainer = partial(keep_partitions, new_uow, settings)
    # Run once before serving (an upload needs its month's partition), then periodically.
    partitions = Periodic("health-partitions", settings.health_partitions_every_seconds, maintainer)
    return GrpcApp(
        settings=settings,
        services=[
            ServiceRegistration(
                SERVICE_NAME,
                pb_grpc.add_ActivityServiceServicer_to_server,
                ActivityServicer(new_uow, live, settings, policy, wiring, ActivityFileFormats()),
            )
        ],
        on_start=[
            *base.on_start,
            partial(sync_library, new_uow, settings.media_base_url),
            check_ins.start,
            streak_sweeper.start,
            live.start,
            live_pruner.start,
            maintainer,
            partitions.start,
            worker.start,
            authorization_pruner.start,
        ],
        # The workers finish their jobs before the database they write to goes.
        on_stop=[
            worker.stop,
            authorization_pruner.stop,
            publisher.close,
            *(client.close for client in clients.values()),
            check_ins.stop,
            streak_sweeper.stop,
            live.stop,
            live_pruner.stop,
            partitions.stop,
            *base.on_stop,
        ],
    )


def main() -> None:
    run_service(ActivitySettings, build_app)


if __name__ == "__main__":
    main()
