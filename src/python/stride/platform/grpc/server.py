"""The gRPC server every service runs: interceptors, health, reflection, metrics, graceful drain."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvloop
from grpc_health.v1 import health_pb2, health_pb2_grpc

# grpc-stubs types only the synchronous health module; the asyncio servicer lives beside it.
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]
from grpc_reflection.v1alpha import reflection

import grpc
from stride.platform.auth import JwksSource, JwtVerifier
from stride.platform.config import ServiceSettings
from stride.platform.grpc.contract import method_contracts, service_descriptor
from stride.platform.grpc.interceptors import StrideServerInterceptor
from stride.platform.observability.metrics import start_metrics_server
from stride.platform.service_credentials import ServiceTokenVerifier

_log = logging.getLogger("stride.server")

Hook = Callable[[], Awaitable[None]]
SERVING = health_pb2.HealthCheckResponse.SERVING


@dataclass(frozen=True)
class ServiceRegistration:
    """A servicer and the generated function that adds it to a server."""

    full_name: str  # e.g. "stride.identity.v1.IdentityService"
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: object


@dataclass
class GrpcApp:
    settings: ServiceSettings
    services: Sequence[ServiceRegistration]
    on_start: Sequence[Hook] = ()  # Run before the service reports SERVING.
    on_stop: Sequence[Hook] = ()  # Run after in-flight RPCs drained, in reverse order.
    verifier: JwtVerifier | None = field(default=None)


@dataclass
class RunningServer:
    server: grpc.aio.Server
    health: health_aio.HealthServicer
    port: int
    app: GrpcApp

    async def stop(self) -> None:
        """Drains: NOT_SERVING first (so Envoy moves traffic), then finish in-flight RPCs."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.app.settings.shutdown_grace_seconds)
        for hook in reversed(self.app.on_stop):
            await hook()


def verifier_from_settings(settings: ServiceSettings) -> JwtVerifier | None:
    if settings.jwks_file is not None:
        source = JwksSource(path=settings.jwks_file)
    elif settings.jwks_url is not None:
        source = JwksSource(url=settings.jwks_url)
    else:
        return None
    return JwtVerifier(source, issuer=settings.jwt_issuer, audience=settings.jwt_audience)


def service_verifier_from_settings(settings: ServiceSettings) -> ServiceTokenVerifier | None:
    """Who may call this service's internal RPCs; with nobody trusted, nobody can."""
    if not settings.trusted_service_keys:
        return None
    return ServiceTokenVerifier.from_spec(settings.service_name, settings.trusted_service_keys)


async def start(app: GrpcApp) -> RunningServer:
    settings = app.settings
    verifier = app.verifier or verifier_from_settings(settings)
    server = grpc.aio.server(
        interceptors=[
            StrideServerInterceptor(
                settings.service_name,
                method_contracts(service_descriptor(r.full_name) for r in app.services),
                verifier,
                service_verifier_from_settings(settings),
                settings.max_rpc_seconds,
                settings.max_stream_seconds,
            )
        ],
        options=[
            ("grpc.max_receive_message_length", 4 * 1024 * 1024),
            # gRPC core cancels calls queued beyond 1000 by default; a class-opening rush
            # queues thousands on one replica, which the database serializes in order anyway
            # (tools/bench/booking_rush). Envoy's circuit breakers still bound the total.
            ("grpc.server.max_pending_requests", 10_000),
            ("grpc.server.max_pending_requests_hard_limit", 20_000),
        ],
    )
    health_servicer = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    # The servicer reports the whole server ("") SERVING from the start; a probe asking for
    # it must not see the server ready before its start hooks (migrations) have run.
    await health_servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    for registration in app.services:
        registration.add_to_server(registration.servicer, server)
        await health_servicer.set(
            registration.full_name, health_pb2.HealthCheckResponse.NOT_SERVING
        )
    reflection.enable_server_reflection(
        [registration.full_name for registration in app.services]
        + [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
        server,
    )
    port = server.add_insecure_port(f"{settings.grpc_host}:{settings.grpc_port}")
    if port == 0:
        raise OSError(f"cannot listen on {settings.grpc_host}:{settings.grpc_port}")
    if settings.metrics_port:
        start_metrics_server(settings.grpc_host, settings.metrics_port)
    await server.start()
    for hook in app.on_start:
        await hook()
    for name in ["", *(registration.full_name for registration in app.services)]:
        await health_servicer.set(name, SERVING)
    _log.info("serving", extra={"port": port, "services": [s.full_name for s in app.services]})
    return RunningServer(server, health_servicer, port, app)


async def serve(app: GrpcApp) -> None:
    """Runs until SIGTERM or SIGINT, then drains."""
    running = await start(app)
    # What the start made (modules, contracts, mappers, pools) lives as long as the process:
    # out of the collector's sight, a full collection no longer walks it all again, which a
    # request allocating thousands of objects (a batch of samples) would otherwise trigger
    # many times a second (tools/bench/telemetry).
    gc.freeze()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    _log.info("draining", extra={"grace_seconds": app.settings.shutdown_grace_seconds})
    await running.stop()
    _log.info("stopped")


def run(app_factory: Callable[[], Awaitable[GrpcApp]]) -> None:
    """The synchronous entry point of a service's main.py, on uvloop: libuv's event loop
    spends less CPU per request than asyncio's own, on gRPC calls and on asyncpg's round
    trips alike (tools/bench/overhead)."""

    async def main() -> None:
        await serve(await app_factory())

    uvloop.run(main())
