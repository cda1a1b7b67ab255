"""Scheduling service process: `python -m stride.scheduling.main` (settings from STRIDE_* env)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from stride.gateway.catalog import SCHEDULING
from stride.platform.config import load_settings
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.events.live import LiveEvents
from stride.platform.events.outbox import OutboxRelay
from stride.platform.grpc.server import GrpcApp, ServiceRegistration, run
from stride.platform.observability.logging import configure_logging
from stride.platform.observability.tracing import configure_tracing
from stride.platform.tasks import Periodic
from stride.scheduling.adapters.billing import BillingEntitlements
from stride.scheduling.config import SchedulingSettings
from stride.scheduling.entrypoints.grpc_servicer import SchedulingServicer
from stride.scheduling.service_layer import attendance
from stride.scheduling.service_layer.attendance import CHECK_IN_KEY_PURPOSE
from stride.scheduling.service_layer.handlers import utcnow
from stride.scheduling.service_layer.unit_of_work import SOURCE, SchedulingUnitOfWork
from stride.scheduling.v1 import scheduling_service_pb2_grpc as pb_grpc

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations" / "versions"
SETTLE_EVERY_SECONDS = 60.0
SERVICE_NAME = "stride.scheduling.v1.SchedulingService"


async def settle_ended_classes(new_uow: partial[SchedulingUnitOfWork]) -> None:
    await attendance.settle_ended_classes(new_uow(), utcnow())


async def build_app(settings: SchedulingSettings) -> GrpcApp:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    relay = OutboxRelay(
        sessions, nats_url=settings.nats_url, prefix=settings.events_prefix, source=SOURCE
    )
    new_uow = partial(SchedulingUnitOfWork, sessions)
    data_keys = DataKeyring.from_spec(settings.data_keys, settings.data_key_active)
    live = LiveEvents(settings.nats_url, settings.events_prefix, SOURCE)
    billing = BillingEntitlements(settings.billing_target)
    sweeper = Periodic(
        "settle-ended-classes", SETTLE_EVERY_SECONDS, partial(settle_ended_classes, new_uow)
    )

    async def migrate() -> None:
        if settings.migrate_on_start:
            await run_migrations(settings.database_url, MIGRATIONS)

    return GrpcApp(
        settings=settings,
        services=[
            ServiceRegistration(
                SERVICE_NAME,
                pb_grpc.add_SchedulingServiceServicer_to_server,
                SchedulingServicer(
                    new_uow, data_keys.derive_key(CHECK_IN_KEY_PURPOSE), live, billing
                ),
            )
        ],
        public_methods=SCHEDULING.public_methods,
        on_start=[migrate, relay.start, sweeper.start, live.start, billing.start],
        on_stop=[engine.dispose, relay.stop, sweeper.stop, live.stop, billing.stop],
    )


def main() -> None:
    settings = load_settings(SchedulingSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    configure_tracing(settings.service_name, settings.otlp_endpoint)
    run(partial(build_app, settings))


if __name__ == "__main__":
    main()
