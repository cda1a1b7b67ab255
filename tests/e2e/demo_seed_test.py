"""What `./pants up` seeds, through an edge with its real sign-in throttles, against every
service: the demo users, the studio's classes and plans, the coach's workout and the program the
demo member is on, their logged session and records, a week of their heart rate. Seeding again
adds nothing."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from e2e.support import Edge, call, edge_factory
from stack.seed import DEMO_PASSWORD, DEMO_STUDIO, DEMO_USERS, seed_demo
from stride.gateway.envoy_config import EdgeSettings
from stride.identity.config import IdentitySettings
from stride.platform.grpc.server import RunningServer

# The edge's own limits, not the relaxed ones the other modules sign many users in under.
THROTTLES = {
    field.name: field.default
    for field in dataclasses.fields(EdgeSettings)
    if field.name in ("auth_burst_per_client", "refresh_burst_per_client")
}


@pytest.fixture(scope="module")
def throttled_edge(
    platform: dict[str, RunningServer], edge_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Edge]:
    with edge_factory(tmp_path_factory, **platform) as factory:
        yield factory(listen_port=edge_port, **THROTTLES)


async def read(edge: Edge, path: str, token: str) -> Any:
    reply = await call("GET", f"{edge.base_url}/v1/{path}", authorization=f"Bearer {token}")
    assert reply.status == 200, reply.body
    return reply.body


async def test_the_demo_is_seeded_through_the_throttled_edge_and_again_adds_nothing(
    throttled_edge: Edge, identity_config: IdentitySettings
) -> None:
    edge, now = throttled_edge, datetime.now(UTC)
    loop = asyncio.get_running_loop()
    # The seed's clients block: they run beside the loop the services under test share.
    users = await loop.run_in_executor(None, seed_demo, edge.grpc_target, identity_config, now)
    assert set(users) == {email for email, *_ in DEMO_USERS}

    signed_in = await call(
        "POST",
        f"{edge.base_url}/v1/sessions:signIn",
        {"email": DEMO_USERS[0][0], "password": DEMO_PASSWORD},
    )
    member, token = signed_in.body["user"]["name"], signed_in.body["credentials"]["accessToken"]

    async def seeded() -> tuple[int, ...]:
        classes = await read(edge, f"{DEMO_STUDIO}/classSessions?pageSize=100", token)
        programs = await read(edge, f"{member}/programAssignments", token)
        sessions = await read(edge, f"{member}/workoutSessions", token)
        records = await read(edge, f"{member}/personalRecords?pageSize=100", token)
        return tuple(
            len(listed.get(key, []))
            for listed, key in (
                (classes, "classSessions"),
                (programs, "programAssignments"),
                (sessions, "workoutSessions"),
                (records, "personalRecords"),
            )
        )

    first = await seeded()
    assert first[1:3] == (1, 1)  # One program, one session.
    assert first[0] > 0
    assert first[3] > 0
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    days = await read(edge, f"{member}/healthRollups?{days_query(today)}", token)
    assert len(days["rollups"]) == 8  # Seven days back to today, each partly or whole.
    assert max(day["max"] for day in days["rollups"]) > 140  # The workouts.
    anchor = await read(edge, f"{member}/healthSyncAnchors/healthkit", token)
    assert anchor["anchor"] == f"demo-anchor-{now.date().isoformat()}"

    await loop.run_in_executor(None, seed_demo, edge.grpc_target, identity_config, now)
    assert await seeded() == first
    again = await read(edge, f"{member}/healthRollups?{days_query(today)}", token)
    assert again["rollups"] == days["rollups"]


def days_query(today: datetime) -> str:
    return (
        "kind=HEALTH_KIND_HEART_RATE&resolution=RESOLUTION_DAY"
        f"&startTime={today - timedelta(days=7):%Y-%m-%dT%H:%M:%SZ}"
        f"&endTime={today + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"
    )
