"""What every service's main.py starts from: its database, migrations, outbox relay, and the
process entry point. Services add their servicers, consumers and jobs on top."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from stride.platform.config import ServiceSettings, load_settings
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.events.outbox import OutboxRelay
from stride.platform.grpc.server import GrpcApp, run
from stride.platform.observability.logging import configure_logging
from stride.platform.observability.tracing import configure_tracing
from stride.platform.service_credentials import ServiceCredentials, ServiceKey

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@dataclass
class Foundation:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    migrate: Callable[[], Awaitable[None]]

    @property
    def on_start(self) -> list[Callable[[], Awaitable[None]]]:
        """Migrations before anything reads the database, then the relay."""
        return [self.migrate, self.relay.start]

    @property
    def on_stop(self) -> list[Callable[[], Awaitable[None]]]:
        return [self.engine.dispose, self.relay.stop]


def foundation(settings: ServiceSettings, source: str, migrations: Path) -> Foundation:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)

    async def migrate() -> None:
        if settings.migrate_on_start:
            await run_migrations(settings.database_url, migrations)

    relay = OutboxRelay(
        sessions, nats_url=settings.nats_url, prefix=settings.events_prefix, source=source
    )
    return Foundation(engine, sessions, relay, migrate)


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
