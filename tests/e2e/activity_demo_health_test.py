"""The demo member's week of heart rate, seeded as `./pants up` does it: through the edge's
gRPC, as their phone uploads; seeding again stores nothing new, and the week reads back as
daily figures over REST."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from e2e.support import Edge, EdgeFactory, call, edge_jwks_url, running_activity
from stack.seed import (
    DEMO_PASSWORD,
    DEMO_USERS,
    confirm_demo_users,
    seed_demo_heart_rate,
    sign_up_demo_users,
)
from stride.identity.config import IdentitySettings
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port

EDGE_PORT = free_port()  # Known before the edge starts: the services fetch the JWKS from it.


@pytest_asyncio.fixture(scope="module")
async def activity(
    postgres_server_url: str, nats_url: str, event_prefix: str
) -> AsyncIterator[RunningServer]:
    jwks = edge_jwks_url(EDGE_PORT)
    async with running_activity(postgres_server_url, nats_url, event_prefix, jwks) as running:
        yield running


@pytest.fixture(scope="module")
def edges(
    identity: RunningServer, activity: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EdgeFactory]:
    ports = {"identity": identity.port, "activity": activity.port}
    factory = EdgeFactory(ports, tmp_path_factory.mktemp("edge"), [])
    yield factory
    for envoy in factory.started:
        envoy.stop()


@pytest.fixture(scope="module")
def edge(edges: EdgeFactory) -> Edge:
    return edges(listen_port=EDGE_PORT)


async def test_the_demo_member_gets_a_week_of_heart_rate_once(
    edge: Edge, identity_config: IdentitySettings
) -> None:
    loop = asyncio.get_running_loop()
    # The seed's clients block: they run beside the loop the services under test share.
    await loop.run_in_executor(None, sign_up_demo_users, edge.grpc_target)
    await confirm_demo_users(identity_config)
    now = datetime.now(UTC)
    stored = await loop.run_in_executor(None, seed_demo_heart_rate, edge.grpc_target, now)
    again = await loop.run_in_executor(None, seed_demo_heart_rate, edge.grpc_target, now)
    assert stored > 7 * 24 * 12  # A reading every five minutes, and the workouts.
    assert again == 0

    signed_in = await call(
        "POST",
        f"{edge.base_url}/v1/sessions:signIn",
        {"email": DEMO_USERS[0][0], "password": DEMO_PASSWORD},
    )
    member, token = signed_in.body["user"]["name"], signed_in.body["credentials"]["accessToken"]
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    query = (
        "kind=HEALTH_KIND_HEART_RATE&resolution=RESOLUTION_DAY"
        f"&startTime={today - timedelta(days=7):%Y-%m-%dT%H:%M:%SZ}"
        f"&endTime={today + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"
    )
    days = await call(
        "GET",
        f"{edge.base_url}/v1/{member}/healthRollups?{query}",
        authorization=f"Bearer {token}",
    )
    assert days.status == 200, days.body
    assert len(days.body["rollups"]) == 8  # Seven days back to today, each partly or whole.
    assert sum(int(day["sampleCount"]) for day in days.body["rollups"]) == stored
    assert max(day["max"] for day in days.body["rollups"]) > 140  # The workouts.
    assert all(day["deviceType"] == "HEALTH_DEVICE_TYPE_WATCH" for day in days.body["rollups"])
    anchor = await call(
        "GET",
        f"{edge.base_url}/v1/{member}/healthSyncAnchors/healthkit",
        authorization=f"Bearer {token}",
    )
    assert anchor.body["anchor"] == f"demo-anchor-{now.date().isoformat()}"
