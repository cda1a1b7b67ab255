"""What the chaos suite shares: the real services on real Postgres and a NATS the tests may
kill, in this process or each in a process of its own that a test may SIGKILL; access tokens
the services verify with their real verifier (signed with a key the tests hold, published as a
JWKS file); plain gRPC clients and how their calls ended; locks a test holds to stop a request
mid-flight, and reads of the services' own databases."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import grpc
import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import ed25519
from google.api.httpbody_pb2 import HttpBody
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import Row, text

from billing.stripe_support import signed
from e2e.support import (
    SCHEDULING_DATA_KEYS,
    SCHEDULING_SERVICE_KEY,
    running_billing,
    running_notifications,
    running_scheduling,
)
from stride.billing.v1 import billing_service_pb2 as billing_pb
from stride.billing.v1 import billing_service_pb2_grpc as billing_grpc
from stride.events.v1.envelope_pb2 import Envelope
from stride.gateway.catalog import SCHEDULING, ServiceEntry
from stride.platform.db.engine import create_engine, drop_database, ensure_database
from stride.platform.db.errors import database_unavailable
from stride.platform.grpc.server import RunningServer
from stride.platform.grpc.status import error_reason
from stride.platform.local.ports import free_port
from stride.platform.local.process import ManagedProcess, ProcessFailedError
from stride.platform.testing.probes import eventually
from stride.scheduling.v1 import scheduling_service_pb2 as scheduling_pb
from stride.scheduling.v1 import scheduling_service_pb2_grpc as scheduling_grpc

ISSUER, AUDIENCE = "https://identity.stride.local", "stride"
DEADLINE = 30.0  # Every call's under a fault: one that hung would end DEADLINE_EXCEEDED.
# Settling a paid purchase or renewal issues its invoice, whose number comes from one counter
# locked until commit: a test that takes it first stops settling there, after Stripe charged.
INVOICE_NUMBER_LOCK = "SELECT last FROM invoice_numbers WHERE id = 1 FOR UPDATE"


class AccessTokens:
    """Signs access tokens as Identity would; the services trust its JWKS (a file)."""

    def __init__(self, directory: Path) -> None:
        self._key = ed25519.Ed25519PrivateKey.generate()
        public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self._key.public_key()))
        self.jwks_path = directory / "jwks.json"
        self.jwks_path.write_text(
            json.dumps({"keys": [{**public, "kid": "chaos", "alg": "EdDSA"}]})
        )

    @property
    def jwks_url(self) -> str:
        return self.jwks_path.as_uri()

    def token(self, user: str, *roles: str, studio: str = "") -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user,
            "roles": list(roles or ("member",)),
            "studio": studio,
            "iat": now,
            "exp": now + 3600,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims, self._key, algorithm="EdDSA", headers={"kid": "chaos", "typ": "at+jwt"}
        )

    def metadata(self, user: str, *roles: str, studio: str = "") -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token(user, *roles, studio=studio)}"),)


@pytest.fixture(scope="module")
def access_tokens(tmp_path_factory: pytest.TempPathFactory) -> AccessTokens:
    return AccessTokens(tmp_path_factory.mktemp("jwks"))


@pytest_asyncio.fixture(scope="module")
async def billing(
    postgres_server_url: str,
    nats_url: str,
    event_prefix: str,
    access_tokens: AccessTokens,
    stripe_api_base: str,
) -> AsyncIterator[RunningServer]:
    """Billing in this process, on a database of its own, paying through localstripe."""
    async with running_billing(
        postgres_server_url, nats_url, event_prefix, access_tokens.jwks_url, stripe_api_base
    ) as running:
        yield running


@asynccontextmanager
async def running_services(
    postgres_server_url: str, nats_url: str, event_prefix: str, jwks_url: str, stripe_api_base: str
) -> AsyncIterator[dict[str, RunningServer]]:
    """Scheduling, Billing and Notifications, each on a database of its own, by name."""
    async with AsyncExitStack() as stack:
        billing = await stack.enter_async_context(
            running_billing(postgres_server_url, nats_url, event_prefix, jwks_url, stripe_api_base)
        )
        scheduling = await stack.enter_async_context(
            running_scheduling(postgres_server_url, nats_url, event_prefix, jwks_url, billing.port)
        )
        notifications = await stack.enter_async_context(
            running_notifications(postgres_server_url, nats_url, event_prefix, jwks_url)
        )
        yield {"scheduling": scheduling, "billing": billing, "notifications": notifications}


def database_of(service: RunningServer | ServiceProcess) -> str:
    """The URL of a service's own database."""
    if isinstance(service, ServiceProcess):
        return service.database_url
    return service.app.settings.database_url


async def rows(
    service: RunningServer | ServiceProcess, query: str, **parameters: Any
) -> Sequence[Row[Any]]:
    """Rows read from a service's own database."""
    engine = create_engine(database_of(service), pool_size=1)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(query), parameters)).all()
    finally:
        await engine.dispose()


async def scalar(service: RunningServer | ServiceProcess, query: str, **parameters: Any) -> Any:
    """One value read from a service's own database."""
    ((value,),) = await rows(service, query, **parameters)
    return value


async def announced(service: RunningServer | ServiceProcess, event_type: str) -> Counter[str]:
    """How many events of `event_type` the service's outbox holds about each subject."""
    payloads = await rows(
        service, "SELECT payload FROM outbox WHERE event_type = :type", type=event_type
    )
    return Counter(Envelope.FromString(bytes(payload)).subject for (payload,) in payloads)


async def lock_waiters(service: RunningServer | ServiceProcess) -> int:
    """How many sessions of the service's database are waiting for a lock."""
    return int(
        await scalar(
            service,
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
    )


@asynccontextmanager
async def holding(
    service: RunningServer | ServiceProcess, statement: str, **parameters: Any
) -> AsyncIterator[None]:
    """The locks `statement` takes in the service's database, held by a transaction of the
    test's own until the block ends, then rolled back — unless the server died meanwhile,
    which ended the transaction already."""
    engine = create_engine(database_of(service), pool_size=1)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            await connection.execute(text(statement), parameters)
            try:
                yield
            finally:
                try:
                    await transaction.rollback()
                except Exception as error:
                    if not database_unavailable(error):
                        raise
    finally:
        await engine.dispose()


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


@dataclass(frozen=True)
class Clients:
    scheduling: Any  # Typed Any: the generated stubs type only the synchronous API.
    billing: Any


class Listening(Protocol):
    """A service serving gRPC on a port of this machine: in this process or its own."""

    @property
    def port(self) -> int:
        ...


@asynccontextmanager
async def clients(services: Mapping[str, Listening]) -> AsyncIterator[Clients]:
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{services['scheduling'].port}") as scheduling,
        grpc.aio.insecure_channel(f"127.0.0.1:{services['billing'].port}") as billing,
    ):
        yield Clients(
            scheduling_grpc.SchedulingServiceStub(scheduling),
            billing_grpc.BillingServiceStub(billing),
        )


@dataclass(frozen=True)
class Studio:
    name: str
    class_session: str


async def studio_with_a_class(
    client: Clients, tokens: AccessTokens, spots: int, *, starts_in: timedelta = timedelta(days=2)
) -> Studio:
    """A studio (members may hold 10 bookings), a room of `spots`, and one class in it."""
    admin = tokens.metadata("chaos-admin", "admin")
    slug = f"chaos-{uuid.uuid4().hex[:8]}"
    await client.scheduling.CreateStudio(
        scheduling_pb.CreateStudioRequest(
            studio_id=slug,
            studio=scheduling_pb.Studio(
                display_name="Chaos",
                time_zone="Asia/Riyadh",
                booking_policy=scheduling_pb.BookingPolicy(
                    booking_window_days=7, max_active_bookings=10
                ),
            ),
        ),
        metadata=admin,
    )
    parent = f"studios/{slug}"
    room = await client.scheduling.CreateRoom(
        scheduling_pb.CreateRoomRequest(
            parent=parent, room=scheduling_pb.Room(display_name="Hall", capacity=spots)
        ),
        metadata=admin,
    )
    kind = await client.scheduling.CreateClassType(
        scheduling_pb.CreateClassTypeRequest(
            parent=parent,
            class_type=scheduling_pb.ClassType(
                display_name_en="HIIT", display_name_ar="تمارين", duration_minutes=45
            ),
        ),
        metadata=admin,
    )
    session = await client.scheduling.CreateClassSession(
        scheduling_pb.CreateClassSessionRequest(
            parent=parent,
            class_session=scheduling_pb.ClassSession(
                class_type=kind.name,
                room=room.name,
                start_time=timestamp(datetime.now(UTC) + starts_in),
            ),
        ),
        metadata=admin,
    )
    return Studio(parent, session.name)


async def class_pack(client: Clients, tokens: AccessTokens, member: str, credits: int) -> None:
    """What a purchase would give a member: a pack of `credits` for any studio."""
    await client.billing.GrantEntitlement(
        billing_pb.GrantEntitlementRequest(
            parent=f"users/{member}",
            entitlement=billing_pb.Entitlement(
                kind=billing_pb.Entitlement.KIND_CLASS_PACK,
                credits_total=credits,
                expire_time=timestamp(datetime.now(UTC) + timedelta(days=60)),
            ),
            request_id=f"pack-{member}",
        ),
        metadata=tokens.metadata("chaos-admin", "admin"),
    )


def members(count: int) -> Iterator[str]:
    return (str(uuid.uuid4()) for _ in range(count))


async def plan_for_sale(
    billing: Any, tokens: AccessTokens, kind: billing_pb.Plan.Kind.ValueType
) -> str:
    """A plan of a studio's at SAR 300 plus 15 % VAT — a ten-class pack or a membership —
    created by an admin; its name."""
    pack = kind == billing_pb.Plan.KIND_CLASS_PACK
    plan = await billing.CreatePlan(
        billing_pb.CreatePlanRequest(
            parent=f"studios/chaos-{uuid.uuid4().hex[:8]}",
            plan=billing_pb.Plan(
                display_name_en="Ten classes" if pack else "Unlimited monthly",
                display_name_ar="عشر حصص" if pack else "شهري غير محدود",
                kind=kind,
                price=billing_pb.Money(currency_code="SAR", amount_minor=30_000),
                vat_rate_basis_points=1500,
                credits=10 if pack else 0,
                valid_days=30 if pack else 0,
            ),
        ),
        metadata=tokens.metadata("chaos-admin", "admin"),
    )
    return str(plan.name)


@dataclass(frozen=True)
class Answer:
    """How a call ended: its status code, the reason an error gave (its ErrorInfo), and the
    reply of one that succeeded."""

    code: grpc.StatusCode
    reason: str = ""
    reply: Any = None


async def answer(call: Awaitable[Any]) -> Answer:
    try:
        return Answer(grpc.StatusCode.OK, reply=await call)
    except grpc.aio.AioRpcError as error:
        return Answer(error.code(), error_reason(error))


async def deliver(billing: Any, event: dict[str, Any]) -> None:
    """A Stripe event, signed as Stripe signs it, delivered to Billing's webhook RPC."""
    payload, signature = signed(event)
    await billing.ReceiveStripeEvent(
        billing_pb.ReceiveStripeEventRequest(
            payload=HttpBody(content_type="application/json", data=payload)
        ),
        metadata=(("stripe-signature", signature),),
    )


STARTUP_SECONDS = 60.0  # Migrations and a cold interpreter on a loaded two-core machine.


class ServiceProcess:
    """A service as production runs it, `python -m <its main module>` in a process of its own,
    configured by its environment; a test may SIGKILL it and start it again on the same port
    and database."""

    def __init__(
        self,
        service: ServiceEntry,
        environment: Mapping[str, str],
        log_dir: Path,
        name: str = "",
    ) -> None:
        """`name`: the process's, for its log, when a service runs more than one."""
        self.port = int(environment["STRIDE_GRPC_PORT"])
        self.database_url = environment["STRIDE_DATABASE_URL"]
        self._service, self._environment, self._log_dir = service, environment, log_dir
        self._ready_service = service.grpc_services[0]
        name = name or service.name
        self._process = ManagedProcess(
            name,
            [sys.executable, "-m", service.main_module],
            log_dir / f"{name}.log",
            env=environment,
        )

    async def start(self) -> None:
        """Starts the process; returns once it is ready, as Kubernetes' readiness probe sees
        it: its service's health is SERVING (the server's own is, before migrations ran)."""
        self._process.start()
        await eventually(self._serving, within=STARTUP_SECONDS)

    def replica(self, name: str) -> ServiceProcess:
        """Another process of the same service, configured alike (the same database) on a
        port of its own, as a second replica of a Deployment; not started."""
        environment = {**self._environment, "STRIDE_GRPC_PORT": str(free_port())}
        return ServiceProcess(self._service, environment, self._log_dir, name)

    def kill(self) -> None:
        """SIGKILL, as a crash (or the OOM killer) would: nothing runs on the way out."""
        self._process.kill()

    async def stop(self) -> None:
        await asyncio.to_thread(self._process.stop)

    async def _serving(self) -> bool:
        if not self._process.is_running():
            raise ProcessFailedError(f"{self._process.name} exited:\n{self._process.log_tail()}")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=self._ready_service), timeout=1
                )
            except grpc.aio.AioRpcError:
                return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@asynccontextmanager
async def running_process(
    service: ServiceEntry,
    postgres_server_url: str,
    nats_url: str,
    event_prefix: str,
    jwks_url: str,
    log_dir: Path,
    **settings: str,
) -> AsyncIterator[ServiceProcess]:
    """The service in a process of its own, configured as `./pants up` configures it
    (tools/stack/up.py): on a free port, a scratch database of its own (dropped afterwards)
    and this module's NATS subjects; `settings` are the service's own (`stripe_api_key="…"`
    is STRIDE_STRIPE_API_KEY)."""
    name = f"t_{service.name}_{uuid.uuid4().hex[:8]}"
    environment = {
        "STRIDE_GRPC_PORT": str(free_port()),
        "STRIDE_DATABASE_URL": await ensure_database(postgres_server_url, name),
        "STRIDE_NATS_URL": nats_url,
        "STRIDE_EVENTS_PREFIX": event_prefix,
        "STRIDE_JWKS_URL": jwks_url,
        "STRIDE_SHUTDOWN_GRACE_SECONDS": "1",
        **{f"STRIDE_{setting.upper()}": value for setting, value in settings.items()},
    }
    process = ServiceProcess(service, environment, log_dir)
    try:
        await process.start()
        yield process
    finally:
        await process.stop()
        await drop_database(postgres_server_url, name)


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the service processes of a module write their logs."""
    return tmp_path_factory.mktemp("logs")


@asynccontextmanager
async def scheduling_process(
    postgres_server_url: str,
    nats_url: str,
    event_prefix: str,
    tokens: AccessTokens,
    billing: RunningServer,
    log_dir: Path,
) -> AsyncIterator[ServiceProcess]:
    """Scheduling in a process of its own, holding credits with `billing`."""
    async with running_process(
        SCHEDULING,
        postgres_server_url,
        nats_url,
        event_prefix,
        tokens.jwks_url,
        log_dir,
        data_keys=SCHEDULING_DATA_KEYS,
        data_key_active="test1",
        billing_target=f"127.0.0.1:{billing.port}",
        service_key=SCHEDULING_SERVICE_KEY,
    ) as process:
        yield process
