"""What the chaos suite shares: the real services on real Postgres and a NATS the tests may
kill, access tokens the services verify with their real verifier (signed with a key the tests
hold, published as a JWKS file), and plain gRPC clients."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text

from e2e.support import running_billing, running_notifications, running_scheduling
from stride.billing.v1 import billing_service_pb2 as billing_pb
from stride.billing.v1 import billing_service_pb2_grpc as billing_grpc
from stride.platform.db.engine import create_engine
from stride.platform.grpc.server import RunningServer
from stride.scheduling.v1 import scheduling_service_pb2 as scheduling_pb
from stride.scheduling.v1 import scheduling_service_pb2_grpc as scheduling_grpc

ISSUER, AUDIENCE = "https://identity.stride.local", "stride"


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


async def scalar(server: RunningServer, query: str, **parameters: Any) -> Any:
    """One value read from a service's own database."""
    engine = create_engine(server.app.settings.database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(query), parameters)).scalar_one()
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


@asynccontextmanager
async def clients(services: dict[str, RunningServer]) -> AsyncIterator[Clients]:
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
