"""The platform's gRPC server, exercised over real sockets with a real client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.request import urlopen

import pytest
import pytest_asyncio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import grpc
from stride.platform.auth import current_principal
from stride.platform.errors import FieldViolation, InvalidArgument, NotFound
from stride.platform.grpc.server import RunningServer
from stride.platform.grpc.status import rich_status, unpack_details
from stride.platform.i18n import current_locale
from stride.platform.local.ports import free_port
from stride.platform.probe.v1 import probe_service_pb2 as pb
from stride.platform.testing.probe_service import (
    SERVICE,
    AnsweringProbe,
    access_token,
    probe_client,
    start_probe,
)
from stride.platform.testing.probes import eventually


class ScriptedProbe(AnsweringProbe):
    """Each request's `behaviour` triggers one server-side behaviour."""

    def __init__(self) -> None:
        self.slow_started = asyncio.Event()
        self.slow_released = asyncio.Event()  # A slow call returns once the test sets it.

    async def Echo(  # noqa: N802 - generated gRPC method name.
        self, request: pb.EchoRequest, context: Any
    ) -> pb.EchoResponse:
        if request.behaviour == "invalid":
            raise InvalidArgument([FieldViolation("email", "field.invalid_email")])
        if request.behaviour == "crash":
            raise RuntimeError("secret internals")
        if request.behaviour == "slow":
            self.slow_started.set()
            await self.slow_released.wait()
        return pb.EchoResponse(language_code=current_locale())

    async def WhoAmI(  # noqa: N802
        self, request: pb.WhoAmIRequest, context: Any
    ) -> pb.WhoAmIResponse:
        if request.name == "missing":
            raise NotFound("USER_NOT_FOUND", "user.not_found")
        return pb.WhoAmIResponse(user=f"users/{current_principal().user_id}")


@pytest_asyncio.fixture
async def server() -> AsyncIterator[RunningServer]:
    running = await start_probe(ScriptedProbe())
    yield running
    await running.stop()


async def failure(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


@pytest.mark.parametrize(("locale", "text"), [("en", "valid email"), ("ar", "بريد")])
async def test_domain_errors_become_rich_localized_statuses(
    server: RunningServer, locale: str, text: str
) -> None:
    channel, client = probe_client(server)
    async with channel:
        error = await failure(
            client.Echo(pb.EchoRequest(behaviour="invalid"), metadata=[("x-stride-locale", locale)])
        )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rich_status(error)
    assert status is not None
    details = unpack_details(status)
    assert details["ErrorInfo"].reason == "INVALID_ARGUMENT"  # type: ignore[attr-defined]
    violation = details["BadRequest"].field_violations[0]  # type: ignore[attr-defined]
    assert violation.field == "email"
    assert text in violation.description
    assert details["LocalizedMessage"].locale == locale  # type: ignore[attr-defined]


async def test_accept_language_is_the_fallback_locale(server: RunningServer) -> None:
    channel, client = probe_client(server)
    async with channel:
        reply = await client.Echo(
            pb.EchoRequest(behaviour="ok"), metadata=[("accept-language", "ar-SA,en;q=0.5")]
        )
    assert reply.language_code == "ar"


async def test_unexpected_errors_are_internal_without_details(server: RunningServer) -> None:
    channel, client = probe_client(server)
    async with channel:
        error = await failure(client.Echo(pb.EchoRequest(behaviour="crash")))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (error.details() or "")


async def test_protected_methods_need_a_valid_token(server: RunningServer) -> None:
    channel, client = probe_client(server)
    async with channel:
        missing = await failure(client.WhoAmI(pb.WhoAmIRequest(name="a")))
        forged = await failure(
            client.WhoAmI(pb.WhoAmIRequest(name="a"), metadata=[("authorization", "Bearer x.y.z")])
        )
        reply = await client.WhoAmI(
            pb.WhoAmIRequest(name="a"),
            metadata=[("authorization", f"Bearer {access_token('user-7')}")],
        )
        not_found = await failure(
            client.WhoAmI(
                pb.WhoAmIRequest(name="missing"),
                metadata=[("authorization", f"Bearer {access_token()}")],
            )
        )
    assert missing.code() == forged.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reply.user == "users/user-7"
    assert not_found.code() == grpc.StatusCode.NOT_FOUND


async def test_handlers_are_cut_off_at_the_deadline() -> None:
    running = await start_probe(ScriptedProbe(), max_rpc_seconds=0.2)
    channel, client = probe_client(running)
    async with channel:
        error = await failure(client.Echo(pb.EchoRequest(behaviour="slow")))
    await running.stop()
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED


async def test_handlers_are_cut_off_when_envoy_stops_waiting() -> None:
    """Envoy does not send grpc-timeout for its route timeout; it says how long it waits in a
    header of its own, and the handler's deadline (what its commits keep to) follows it."""
    running = await start_probe(ScriptedProbe(), max_rpc_seconds=3600)
    channel, client = probe_client(running)
    async with channel:
        # No deadline of the client's: only the header can end the call (the test gives up,
        # failing, long before the server's cap would).
        call = client.Echo(
            pb.EchoRequest(behaviour="slow"),
            metadata=(("x-envoy-expected-rq-timeout-ms", "200"),),
        )
        error = await asyncio.wait_for(failure(call), 20)
    await running.stop()
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED


async def test_nothing_reports_serving_until_the_start_hooks_have_run() -> None:
    migrated = asyncio.Event()

    async def migrate() -> None:  # A start hook that finishes when the test says.
        await migrated.wait()

    port = free_port()
    starting = asyncio.ensure_future(
        start_probe(ScriptedProbe(), on_start=[migrate], grpc_port=port)
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)

        async def statuses() -> list[int]:
            return [
                (await health.Check(health_pb2.HealthCheckRequest(service=name))).status
                for name in ("", SERVICE)
            ]

        async def answering() -> bool:
            try:
                await statuses()
            except grpc.aio.AioRpcError:
                return False  # Not listening yet.
            return True

        await eventually(answering)
        before = await statuses()
        migrated.set()
        running = await starting
        after = await statuses()
    await running.stop()
    assert before == [health_pb2.HealthCheckResponse.NOT_SERVING] * 2
    assert after == [health_pb2.HealthCheckResponse.SERVING] * 2


async def test_shutdown_reports_not_serving_and_drains_in_flight_calls() -> None:
    servicer = ScriptedProbe()
    running = await start_probe(servicer)
    channel, client = probe_client(running)
    async with channel:
        health = health_pb2_grpc.HealthStub(channel)
        assert (
            await health.Check(health_pb2.HealthCheckRequest(service=SERVICE))
        ).status == health_pb2.HealthCheckResponse.SERVING
        in_flight = asyncio.ensure_future(client.Echo(pb.EchoRequest(behaviour="slow")))
        await servicer.slow_started.wait()

        async def not_serving() -> bool:
            answer = await running.health.Check(
                health_pb2.HealthCheckRequest(service=SERVICE), None
            )
            return bool(answer.status == health_pb2.HealthCheckResponse.NOT_SERVING)

        stopping = asyncio.ensure_future(running.stop())
        await eventually(not_serving)
        still_in_flight = not in_flight.done()
        servicer.slow_released.set()
        reply = await in_flight  # Finishes although shutdown began.
        await stopping
    assert still_in_flight
    assert reply.language_code == "en"


async def test_reflection_lists_the_service(server: RunningServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        responses = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        names = [s.name async for r in responses for s in r.list_services_response.service]
    assert SERVICE in names


def scrape(port: int) -> str:
    with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


async def test_rpc_latency_is_exported_on_the_metrics_port() -> None:
    metrics_port = free_port()
    running = await start_probe(ScriptedProbe(), metrics_port=metrics_port)
    channel, client = probe_client(running)
    async with channel:
        await client.Echo(pb.EchoRequest(behaviour="ok"))
    await running.stop()
    exposition = await asyncio.to_thread(scrape, metrics_port)
    assert (
        'stride_rpc_duration_seconds_count{code="OK",'
        'method="/stride.platform.probe.v1.ProbeService/Echo",service="probe"}'
    ) in exposition
