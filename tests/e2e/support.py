"""What the end-to-end tests share: Identity (and Billing) on real Postgres and NATS behind a
real Envoy,
an HTTP client speaking to it as the mobile app does, and readers for events and error bodies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from functools import partial
from http.client import HTTPConnection, HTTPResponse
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import HTTPHandler, Request, build_opener, urlopen

import nats
import pytest
import pytest_asyncio
from google.protobuf.message import Message
from pydantic import SecretStr

from billing.stripe_support import API_KEY, WEBHOOK_SECRET
from stride.activity.config import ActivitySettings
from stride.activity.main import build_app as build_activity
from stride.billing.config import BillingSettings
from stride.billing.main import build_app as build_billing
from stride.events.v1.envelope_pb2 import Envelope
from stride.events.v1.sealed_secret_pb2 import SealedSecret
from stride.gateway.catalog import SERVICES
from stride.gateway.descriptors import build_descriptor_set
from stride.gateway.envoy_config import EdgeSettings, render
from stride.gateway.openapi import write_document
from stride.identity.config import IdentitySettings
from stride.identity.entrypoints.admin import run_admin_command
from stride.identity.events.v1.events_pb2 import UserRegistered
from stride.identity.main import build_app
from stride.notifications.config import NotificationsSettings
from stride.notifications.main import build_app as build_notifications
from stride.platform.crypto.sealing import DataKeyring, new_data_key_spec
from stride.platform.db.engine import drop_database, ensure_database
from stride.platform.events.envelope import stream_name
from stride.platform.events.secrets import open_secret
from stride.platform.grpc.server import GrpcApp, RunningServer, start
from stride.platform.local.envoy import EnvoyProcess, validate_config, write_config
from stride.platform.local.ports import free_port
from stride.platform.service_credentials import new_service_key_spec, trusted_key_entry
from stride.platform.testing.clocks import MovableClock
from stride.scheduling.config import SchedulingSettings
from stride.scheduling.main import build_app as build_scheduling

PASSWORD = "a long enough password"
APP_ORIGIN = "https://app.stride.example"
# Scheduling's own key; the Billing it books against trusts it (holding credits is internal).
SCHEDULING_SERVICE_KEY = new_service_key_spec("scheduling-test")
# Billing's: the Scheduling whose bookings its hold reconciler asks about trusts it.
BILLING_SERVICE_KEY = new_service_key_spec("billing-test")
SCHEDULING_DATA_KEYS = new_data_key_spec("test1")  # Check-in codes are signed under it.
UNSUBSCRIBE_SECRET = "e2e-unsubscribe-secret-0123456789abcdef"
# The event-secret keys Identity and Notifications share under test; the tests keep a copy,
# as Notifications does, to read a link's token where no Notifications runs.
EVENT_SECRET_KEY_SPEC = new_data_key_spec("events1")
EVENT_SECRET_KEY_ACTIVE = "events1"


@dataclass(frozen=True)
class Edge:
    base_url: str
    grpc_target: str


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    text: str = ""  # A body that is not JSON (an HTML page), as it came.


def identity_settings(
    database_url: str, nats_url: str, event_prefix: str, **overrides: Any
) -> IdentitySettings:
    defaults: dict[str, Any] = {
        "grpc_port": free_port(),
        "data_keys": new_data_key_spec("test1"),
        "data_key_active": "test1",
        "event_secret_keys": SecretStr(EVENT_SECRET_KEY_SPEC),
        "event_secret_key_active": EVENT_SECRET_KEY_ACTIVE,
        "signing_key_publish_ahead_seconds": 0,
        "shutdown_grace_seconds": 1,
    }
    return IdentitySettings(
        database_url=database_url,
        nats_url=nats_url,
        events_prefix=event_prefix,
        **{**defaults, **overrides},
    )


def notifications_settings(
    database_url: str, nats_url: str, event_prefix: str, jwks_url: str, **overrides: Any
) -> NotificationsSettings:
    """Notifications as the end-to-end modules run it: trusting the access tokens of the JWKS
    at `jwks_url`, opening what Identity seals with the suite's event-secret keys; without push
    (no FCM key) unless `overrides` give one: the inbox still fills."""
    defaults: dict[str, Any] = {
        "grpc_port": free_port(),
        "jwks_url": jwks_url,
        "data_keys": new_data_key_spec("e2e"),
        "data_key_active": "e2e",
        "event_secret_keys": SecretStr(EVENT_SECRET_KEY_SPEC),
        "event_secret_key_active": EVENT_SECRET_KEY_ACTIVE,
        "unsubscribe_secret": SecretStr(UNSUBSCRIBE_SECRET),
        "shutdown_grace_seconds": 1,
    }
    return NotificationsSettings(
        database_url=database_url,
        nats_url=nats_url,
        events_prefix=event_prefix,
        **{**defaults, **overrides},
    )


@pytest.fixture(scope="module")
def identity_config(database_url: str, nats_url: str, event_prefix: str) -> IdentitySettings:
    return identity_settings(database_url, nats_url, event_prefix)


@pytest.fixture(scope="module")
def identity_clock() -> MovableClock:
    """Identity's clock: the real time, until a test moves it past a delay it would wait for."""
    return MovableClock()


@pytest_asyncio.fixture(scope="module")
async def identity(
    identity_config: IdentitySettings, identity_clock: MovableClock
) -> AsyncIterator[RunningServer]:
    running = await start(await build_app(identity_config, identity_clock))
    yield running
    await running.stop()


@asynccontextmanager
async def running_billing(
    postgres_server_url: str,
    nats_url: str,
    event_prefix: str,
    jwks_url: str,
    stripe_api_base: str,
    **settings: Any,
) -> AsyncIterator[RunningServer]:
    """Billing on a database of its own, paying through localstripe, trusting the access
    tokens the JWKS at `jwks_url` verifies (the edge's, in front of Identity); `settings`
    override the defaults."""
    defaults: dict[str, Any] = {
        "nats_url": nats_url,
        "events_prefix": event_prefix,
        "grpc_port": free_port(),
        "jwks_url": jwks_url,
        "stripe_api_key": SecretStr(API_KEY),
        "stripe_api_base": stripe_api_base,
        "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
        "trusted_service_keys": trusted_key_entry("scheduling", SCHEDULING_SERVICE_KEY),
        "shutdown_grace_seconds": 1,
    }

    async def app(database_url: str) -> GrpcApp:
        return await build_billing(
            BillingSettings(database_url=database_url, **{**defaults, **settings})
        )

    async with running_on_own_database(postgres_server_url, "billing", app) as running:
        yield running


@asynccontextmanager
async def running_scheduling(
    postgres_server_url: str,
    nats_url: str,
    event_prefix: str,
    jwks_url: str,
    billing_port: int,
    **settings: Any,
) -> AsyncIterator[RunningServer]:
    """Scheduling on a database of its own, holding credits with the Billing at
    `billing_port` as itself; `settings` override the defaults."""
    defaults: dict[str, Any] = {
        "nats_url": nats_url,
        "events_prefix": event_prefix,
        "grpc_port": free_port(),
        "jwks_url": jwks_url,
        "data_keys": SCHEDULING_DATA_KEYS,
        "data_key_active": "test1",
        "billing_target": f"127.0.0.1:{billing_port}",
        "service_key": SecretStr(SCHEDULING_SERVICE_KEY),
        "shutdown_grace_seconds": 1,
    }

    async def app(database_url: str) -> GrpcApp:
        return await build_scheduling(
            SchedulingSettings(database_url=database_url, **{**defaults, **settings})
        )

    async with running_on_own_database(postgres_server_url, "scheduling", app) as running:
        yield running


@asynccontextmanager
async def running_activity(
    postgres_server_url: str, nats_url: str, event_prefix: str, jwks_url: str, **settings: Any
) -> AsyncIterator[RunningServer]:
    """Activity on a database of its own, trusting the access tokens of the JWKS at
    `jwks_url`, with no wearable provider unless `settings` (which override the defaults)
    configure one."""
    defaults: dict[str, Any] = {
        "nats_url": nats_url,
        "events_prefix": event_prefix,
        "grpc_port": free_port(),
        "jwks_url": jwks_url,
        "data_keys": new_data_key_spec("e2e"),
        "data_key_active": "e2e",
        "shutdown_grace_seconds": 1,
    }

    async def app(database_url: str) -> GrpcApp:
        return await build_activity(
            ActivitySettings(database_url=database_url, **{**defaults, **settings})
        )

    async with running_on_own_database(postgres_server_url, "activity", app) as running:
        yield running


@asynccontextmanager
async def running_notifications(
    postgres_server_url: str, nats_url: str, event_prefix: str, jwks_url: str, **settings: Any
) -> AsyncIterator[RunningServer]:
    """Notifications on a database of its own (see notifications_settings)."""

    async def app(database_url: str) -> GrpcApp:
        return await build_notifications(
            notifications_settings(database_url, nats_url, event_prefix, jwks_url, **settings)
        )

    async with running_on_own_database(postgres_server_url, "notifications", app) as running:
        yield running


def edge_jwks_url(edge_port: int) -> str:
    """Identity's JWKS as the services fetch it: through the edge, as in a cluster."""
    return f"http://127.0.0.1:{edge_port}/.well-known/jwks.json"


@pytest.fixture(scope="module")
def edge_port() -> int:
    """Known before the edge starts: the services fetch Identity's JWKS through it."""
    return free_port()


@pytest_asyncio.fixture(scope="module")
async def platform(
    identity: RunningServer,
    postgres_server_url: str,
    nats_url: str,
    event_prefix: str,
    stripe_api_base: str,
    edge_port: int,
) -> AsyncIterator[dict[str, RunningServer]]:
    """Every service of the catalog, each on a database of its own, by name, calling each
    other's internal RPCs as `./pants up` runs them."""
    jwks, scheduling_port = edge_jwks_url(edge_port), free_port()
    async with (
        running_billing(
            postgres_server_url,
            nats_url,
            event_prefix,
            jwks,
            stripe_api_base,
            scheduling_target=f"127.0.0.1:{scheduling_port}",
            service_key=SecretStr(BILLING_SERVICE_KEY),
        ) as billing,
        running_scheduling(
            postgres_server_url,
            nats_url,
            event_prefix,
            jwks,
            billing.port,
            grpc_port=scheduling_port,
            trusted_service_keys=trusted_key_entry("billing", BILLING_SERVICE_KEY),
        ) as scheduling,
        running_notifications(postgres_server_url, nats_url, event_prefix, jwks) as notes,
        running_activity(postgres_server_url, nats_url, event_prefix, jwks) as activity,
    ):
        yield {
            "identity": identity,
            "scheduling": scheduling,
            "billing": billing,
            "notifications": notes,
            "activity": activity,
        }


@pytest.fixture(scope="module")
def platform_edge(
    platform: dict[str, RunningServer], edge_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Edge]:
    """One Envoy in front of the whole platform, as `./pants up` runs it."""
    with edge_factory(tmp_path_factory, **platform) as factory:
        yield factory(listen_port=edge_port)


@asynccontextmanager
async def running_on_own_database(
    postgres_server_url: str, service: str, app: Callable[[str], Awaitable[GrpcApp]]
) -> AsyncIterator[RunningServer]:
    """A service on a scratch database of its own (as in production), dropped afterwards."""
    name = f"t_{service}_{uuid.uuid4().hex[:8]}"
    running = await start(await app(await ensure_database(postgres_server_url, name)))
    try:
        yield running
    finally:
        await running.stop()
        await drop_database(postgres_server_url, name)


@dataclass
class EdgeFactory:
    """Starts Envoys in front of running services (name → gRPC port); each test module gets
    its own."""

    ports: dict[str, int]
    workdir: Path
    started: list[EnvoyProcess]

    def __call__(self, **overrides: Any) -> Edge:
        directory = self.workdir / f"envoy-{len(self.started)}"
        directory.mkdir()
        services = [service for service in SERVICES if service.name in self.ports]
        descriptor = directory / "descriptor.binpb"
        descriptor.write_bytes(build_descriptor_set([d for s in services for d in s.descriptors]))
        listen_port, admin_port = free_port(), free_port()
        settings = EdgeSettings(
            listen_port=listen_port,
            admin_port=admin_port,
            descriptor_path=descriptor,
            openapi_document=write_document(directory / "openapi.json", services),
            upstreams={name: ("127.0.0.1", port) for name, port in self.ports.items()},
            cors_origins=(APP_ORIGIN,),
            # Every test signs up and in from 127.0.0.1; the rate-limit tests tighten these.
            auth_burst_per_client=10_000,
            refresh_burst_per_client=10_000,
            jwks_cache_seconds=1,
        )
        settings = replace(settings, **overrides)
        config_path = write_config(render(services, settings), directory / "envoy.json")
        validate_config(config_path)
        envoy = EnvoyProcess(config_path, settings.admin_port, directory / "envoy.log")
        envoy.start()
        self.started.append(envoy)
        port = settings.listen_port
        return Edge(f"http://127.0.0.1:{port}", f"127.0.0.1:{port}")


@contextmanager
def edge_factory(
    tmp_path_factory: pytest.TempPathFactory, **services: RunningServer
) -> Iterator[EdgeFactory]:
    """Envoys in front of these running services (named as in the catalog), stopped when the
    module is done with them."""
    ports = {name: server.port for name, server in services.items()}
    factory = EdgeFactory(ports, tmp_path_factory.mktemp("edge"), [])
    try:
        yield factory
    finally:
        for envoy in factory.started:
            envoy.stop()


@pytest.fixture(scope="module")
def edges(
    identity: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EdgeFactory]:
    with edge_factory(tmp_path_factory, identity=identity) as factory:
        yield factory


@pytest.fixture(scope="module")
def edge(edges: EdgeFactory) -> Edge:
    return edges()


class _FromAddress(HTTPHandler):
    """Connects from a given local address: 127.0.0.2 is another client than 127.0.0.1."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self._address = address

    def http_open(self, req: Request) -> Any:
        return self.do_open(partial(HTTPConnection, source_address=(self._address, 0)), req)


def _http(
    method: str,
    url: str,
    body: dict[str, Any] | bytes | None,
    headers: dict[str, str],
    from_address: str | None = None,
) -> Reply:
    data = body if isinstance(body, bytes) else json.dumps(body).encode() if body else None
    request = Request(  # noqa: S310 - loopback URLs built by the test.
        url, data=data, method=method, headers={"content-type": "application/json", **headers}
    )
    open_url = build_opener(_FromAddress(from_address)).open if from_address else urlopen
    try:
        with open_url(request, timeout=10) as response:
            raw, status, response_headers = response.read(), response.status, response.headers
    except HTTPError as error:
        raw, status, response_headers = error.read(), error.code, error.headers
    lowered = {key.lower(): value for key, value in response_headers.items()}
    is_json = "json" in lowered.get("content-type", "")
    if is_json:
        return Reply(status, json.loads(raw) if raw else {}, lowered)
    return Reply(status, {}, lowered, raw.decode(errors="replace"))


# The client's own threads: the services under test share this event loop and its default
# executor (Argon2 hashing runs there), so blocking client calls must not occupy it.
_CLIENT_THREADS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="e2e-client")


async def call(
    method: str,
    url: str,
    body: dict[str, Any] | bytes | None = None,
    /,
    *,
    from_address: str | None = None,
    **headers: str,
) -> Reply:
    """One HTTP request; `accept_language="ar"` becomes the `accept-language` header. From
    `from_address` (a loopback address such as 127.0.0.2) it comes from another client."""
    normalized = {key.replace("_", "-"): value for key, value in headers.items()}
    return await asyncio.get_running_loop().run_in_executor(
        _CLIENT_THREADS, _http, method, url, body, normalized, from_address
    )


def announced_50_mb(edge: Edge, path: str, member: Account) -> HTTPResponse:
    """A request announcing a 50 MB body: Envoy answers once past its 1 MiB limit (and closes
    the connection), so only the first 2 MiB are sent before reading the answer."""
    connection = HTTPConnection(edge.grpc_target, timeout=10)
    connection.putrequest("POST", path)
    for header, value in {
        **member.auth,
        "content-type": "application/json",
        "content-length": str(50 * 1024 * 1024),
    }.items():
        connection.putheader(header, value)
    connection.endheaders()
    connection.send(b'{"syncAnchor": "' + b"x" * (2 * 1024 * 1024))
    return connection.getresponse()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def sign_up_body(**overrides: str) -> dict[str, str]:
    return {
        "email": f"member-{uuid.uuid4().hex[:10]}@example.com",
        "password": PASSWORD,
        "displayName": "Layla",
        "timeZone": "Asia/Riyadh",
        **overrides,
    }


async def next_event(
    nats_url: str,
    prefix: str,
    event_type: str,
    payload_type: type[Message],
    matches: Callable[[Any], bool],
    within_seconds: float = 20.0,
) -> tuple[Envelope, Any, dict[str, str]]:
    """The first event of `event_type` whose payload `matches`, read from the stream's start."""
    connection = await nats.connect(nats_url)
    try:
        subscription = await connection.jetstream().subscribe(
            f"{prefix}.{event_type}", stream=stream_name(prefix, event_type.split(".")[0])
        )
        deadline = time.monotonic() + within_seconds
        while time.monotonic() < deadline:
            try:
                message = await subscription.next_msg(timeout=1)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            envelope = Envelope.FromString(message.data)
            payload = payload_type()
            envelope.data.Unpack(payload)
            if matches(payload):
                return envelope, payload, dict(message.headers or {})
    finally:
        await connection.close()
    raise AssertionError(f"no matching {event_type} event within {within_seconds} s")


def details(reply: Reply, type_suffix: str) -> dict[str, Any]:
    for detail in reply.body.get("details", []):
        if detail["@type"].endswith(type_suffix):
            return dict(detail)
    raise AssertionError(f"no {type_suffix} in {reply.body}")


def violations(reply: Reply) -> dict[str, str]:
    found = details(reply, "google.rpc.BadRequest")["fieldViolations"]
    return {v["field"]: v["reason"] for v in found}


def descriptions(reply: Reply) -> dict[str, str]:
    found = details(reply, "google.rpc.BadRequest")["fieldViolations"]
    return {v["field"]: v["description"] for v in found}


def reason(reply: Reply) -> str:
    return str(details(reply, "google.rpc.ErrorInfo")["reason"])


@dataclass(frozen=True)
class Account:
    name: str  # users/{id}
    email: str
    access_token: str
    refresh_token: str
    session: str

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.access_token)


def opened_token(envelope: Envelope, user: str, recipient: str, sealed: SealedSecret) -> str:
    """The token an event carries sealed, opened as Notifications opens it for the email."""
    keys = DataKeyring.from_spec(EVENT_SECRET_KEY_SPEC, EVENT_SECRET_KEY_ACTIVE)
    return open_secret(keys, sealed, event_type=envelope.type, user=user, recipient=recipient)


async def verification_token(nats_url: str, prefix: str, user_name: str) -> str:
    """What the welcome email carries: the token sealed in `user.registered`."""
    envelope, payload, _ = await next_event(
        nats_url,
        prefix,
        "identity.user.registered.v1",
        UserRegistered,
        lambda registered: registered.user == user_name,
    )
    return opened_token(envelope, user_name, payload.email, payload.sealed_email_verification_token)


async def sign_in(
    edge: Edge,
    email: str,
    password: str = PASSWORD,
    *,
    from_address: str | None = None,
    **headers: str,
) -> Reply:
    body = {"email": email, "password": password}
    url = f"{edge.base_url}/v1/sessions:signIn"
    return await call("POST", url, body, from_address=from_address, **headers)


async def new_account(edge: Edge, nats_url: str, prefix: str, **overrides: str) -> Account:
    """Signs up, verifies the email with the emailed token, and signs in — over REST."""
    body = sign_up_body(**overrides)
    signed_up = await call("POST", f"{edge.base_url}/v1/users:signUp", body)
    assert signed_up.status == 200, signed_up.body
    name = signed_up.body["user"]["name"]
    token = await verification_token(nats_url, prefix, name)
    verify = {"token": token, "password": body["password"]}
    verified = await call("POST", f"{edge.base_url}/v1/users:verifyEmail", verify)
    assert verified.status == 200, verified.body
    signed_in = await sign_in(edge, body["email"], body["password"])
    assert signed_in.status == 200, signed_in.body
    credentials = signed_in.body["credentials"]
    return Account(
        name,
        body["email"],
        credentials["accessToken"],
        credentials["refreshToken"],
        credentials["session"],
    )


async def signed_in(edge: Edge, account: Account) -> Account:
    """The account signed in again, so its new token carries roles granted since."""
    credentials = (await sign_in(edge, account.email)).body["credentials"]
    return Account(
        account.name,
        account.email,
        credentials["accessToken"],
        credentials["refreshToken"],
        credentials["session"],
    )


async def new_admin(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> Account:
    """A new account made an admin with Identity's admin command, then signed in again."""
    account = await new_account(edge, nats_url, event_prefix)
    grant = argparse.Namespace(command="grant-role", email=account.email, role="admin", studio="")
    await run_admin_command(identity_config, grant)
    return await signed_in(edge, account)
