"""What every service's main.py starts from: its database, migrations, outbox relay, event
consumers, and the process entry point. Services add their servicers, handlers and jobs on
top."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from stride.platform.config import ServiceSettings, load_settings
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.events.consumer import EventConsumer, EventHandler, UnitOfWorkT
from stride.platform.events.envelope import nats_subject, stream_name
from stride.platform.events.outbox import OutboxRelay
from stride.platform.events.retention import prune_event_tables
from stride.platform.grpc.server import GrpcApp, run
from stride.platform.idempotency import prune_expired_responses
from stride.platform.observability.logging import configure_logging
from stride.platform.observability.tracing import configure_tracing
from stride.platform.service_credentials import ServiceCredentials, ServiceKey
from stride.platform.tasks import Periodic

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@dataclass
class Foundation:
    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    # Published outbox rows, old inbox rows and stored responses go after their retention.
    pruner: Periodic
    migrate: Callable[[], Awaitable[None]]

    @property
    def on_start(self) -> list[Callable[[], Awaitable[None]]]:
        """Migrations before anything reads the database, then the relay and the pruner."""
        return [self.migrate, self.relay.start, self.pruner.start]

    @property
    def on_stop(self) -> list[Callable[[], Awaitable[None]]]:
        return [self.engine.dispose, self.relay.stop, self.pruner.stop]

    def consumer(
        self,
        new_uow: Callable[[], UnitOfWorkT],
        handler: EventHandler[UnitOfWorkT],
        *,
        source: str,
        event_type: str,
        durable_name: str,
    ) -> EventConsumer[UnitOfWorkT]:
        """A durable consumer of `source`'s events of `event_type` (a wildcard such as
        `billing.subscription.*.v1` too), each handled in a unit of work from `new_uow`."""
        prefix = self.settings.events_prefix
        return EventConsumer(
            new_uow,
            handler,
            nats_url=self.settings.nats_url,
            prefix=prefix,
            service=self.settings.service_name,
            stream=stream_name(prefix, source),
            durable_name=durable_name,
            filter_subject=nats_subject(prefix, event_type),
            dead_letter_limits=self.settings.dead_letter_limits,
        )


def foundation(settings: ServiceSettings, source: str, migrations: Path) -> Foundation:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)

    async def migrate() -> None:
        if settings.migrate_on_start:
            await run_migrations(settings.database_url, migrations)

    relay = OutboxRelay(
        sessions,
        nats_url=settings.nats_url,
        prefix=settings.events_prefix,
        source=source,
        limits=settings.stream_limits,
    )
    prune_events = partial(
        prune_event_tables,
        sessions,
        timedelta(seconds=settings.outbox_retention_seconds),
        timedelta(seconds=settings.inbox_retention_seconds),
    )
    prune_responses = partial(
        prune_expired_responses,
        sessions,
        timedelta(seconds=settings.request_id_retention_seconds),
    )

    async def prune() -> None:
        await prune_events()
        await prune_responses()

    pruner = Periodic("prune-platform-tables", settings.prune_every_seconds, prune)
    return Foundation(settings, engine, sessions, relay, pruner, migrate)


def service_credentials(settings: ServiceSettings) -> ServiceCredentials:
    """What this service signs its calls to other services' internal RPCs with."""
    if settings.service_key is None:
        raise ValueError(f"{settings.service_name} calls other services: set STRIDE_SERVICE_KEY")
    key = ServiceKey.from_spec(settings.service_key.get_secret_value())
    return ServiceCredentials(settings.service_name, key)


def run_service(
    settings_type: type[SettingsT], build_app: Callable[[SettingsT], Awaitable[GrpcApp]]
) -> None:
    """A service process: settings from the environment (or exit with what is wrong), JSON
    logs, tracing, then serve until SIGTERM."""
    settings = load_settings(settings_type)
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    configure_tracing(settings.service_name, settings.otlp_endpoint)
    run(partial(build_app, settings))
