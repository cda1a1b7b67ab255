"""Billing service process: `python -m stride.billing.main` (settings from STRIDE_* env)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from stride.billing.config import BillingSettings
from stride.billing.entrypoints.grpc_servicer import BillingServicer
from stride.billing.service_layer import handlers
from stride.billing.service_layer.unit_of_work import SOURCE, BillingUnitOfWork
from stride.billing.v1 import billing_service_pb2_grpc as pb_grpc
from stride.gateway.catalog import BILLING
from stride.platform.config import load_settings
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.events.consumer import EventConsumer
from stride.platform.events.envelope import nats_subject, stream_name
from stride.platform.events.outbox import OutboxRelay
from stride.platform.grpc.server import GrpcApp, ServiceRegistration, run
from stride.platform.observability.logging import configure_logging
from stride.platform.observability.tracing import configure_tracing

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations" / "versions"
SERVICE_NAME = "stride.billing.v1.BillingService"


async def build_app(settings: BillingSettings) -> GrpcApp:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    relay = OutboxRelay(
        sessions, nats_url=settings.nats_url, prefix=settings.events_prefix, source=SOURCE
    )

    releases = EventConsumer(
        sessions,
        handlers.release_for_cancelled_booking,
        nats_url=settings.nats_url,
        prefix=settings.events_prefix,
        service=SOURCE,
        stream=stream_name(settings.events_prefix, "scheduling"),
        durable_name="billing-release-on-cancel",
        filter_subject=nats_subject(settings.events_prefix, "scheduling.booking.cancelled.v1"),
    )

    async def migrate() -> None:
        if settings.migrate_on_start:
            await run_migrations(settings.database_url, MIGRATIONS)

    return GrpcApp(
        settings=settings,
        services=[
            ServiceRegistration(
                SERVICE_NAME,
                pb_grpc.add_BillingServiceServicer_to_server,
                BillingServicer(partial(BillingUnitOfWork, sessions)),
            )
        ],
        public_methods=BILLING.public_methods,
        on_start=[migrate, relay.start, releases.start],
        on_stop=[engine.dispose, relay.stop, releases.stop],
    )


def main() -> None:
    settings = load_settings(BillingSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    configure_tracing(settings.service_name, settings.otlp_endpoint)
    run(partial(build_app, settings))


if __name__ == "__main__":
    main()
