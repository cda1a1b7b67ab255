"""Garmin through Envoy, as Garmin and the app reach it: a member connects Garmin (consent page
with PKCE, code, complete) and an activity Garmin pushes for their user id becomes one they
list over REST; a push not naming our application is refused with 401 and stores nothing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import pytest_asyncio
from pydantic import SecretStr

from e2e.support import (
    Edge,
    EdgeFactory,
    call,
    edge_factory,
    edge_jwks_url,
    new_account,
    running_activity,
)
from stack.garmin import GarminServer, running_garmin
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port
from stride.platform.testing.probes import eventually

EDGE_PORT = free_port()  # Known before the edge starts: the services fetch the JWKS from it.
REDIRECT = "https://app.stride.example/connect/garmin"


@pytest_asyncio.fixture(scope="module")
async def garmin() -> AsyncIterator[GarminServer]:
    async with running_garmin() as server:
        yield server


@pytest_asyncio.fixture(scope="module")
async def activity(
    postgres_server_url: str, nats_url: str, event_prefix: str, garmin: GarminServer
) -> AsyncIterator[RunningServer]:
    async with running_activity(
        postgres_server_url,
        nats_url,
        event_prefix,
        edge_jwks_url(EDGE_PORT),
        garmin_client_id=garmin.client_id,
        garmin_client_secret=SecretStr(garmin.client_secret),
        garmin_redirect_uri=REDIRECT,
        garmin_connect_base=garmin.base_url,
        garmin_auth_base=garmin.base_url,
        garmin_api_base=garmin.base_url,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def edges(
    identity: RunningServer, activity: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EdgeFactory]:
    with edge_factory(tmp_path_factory, identity=identity, activity=activity) as factory:
        yield factory


@pytest.fixture(scope="module")
def edge(edges: EdgeFactory) -> Edge:
    return edges(listen_port=EDGE_PORT)


async def test_a_pushed_activity_is_imported_and_a_push_not_for_us_keeps_nothing(
    edge: Edge, garmin: GarminServer, nats_url: str, event_prefix: str
) -> None:
    garmin.push_url = f"{edge.base_url}/v1/webhooks/garmin"
    member = await new_account(edge, nats_url, event_prefix)
    user = garmin.add_user()
    garmin.sign_in(user)
    connection = f"{edge.base_url}/v1/{member.name}/providerConnections/garmin"
    started = await call("POST", f"{connection}:start", {}, **member.auth)
    assert started.status == 200, started.body
    async with aiohttp.ClientSession() as session, session.get(
        started.body["authorizeUri"], allow_redirects=False
    ) as reply:
        location = reply.headers["location"]
    back = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    completed = await call("POST", f"{connection}:complete", back, **member.auth)
    assert completed.status == 200, completed.body
    assert (completed.body["state"], completed.body["providerAccount"]) == (
        "STATE_CONNECTED",
        user,
    )

    yesterday = int((datetime.now(UTC) - timedelta(days=1)).timestamp())
    forged = garmin.activity(user, yesterday, activityName="Forged")
    assert await garmin.push("activities", [forged], client_id="not-our-app") == 401
    assert await garmin.push("activities", [forged], client_id="") == 401
    run = garmin.activity(user, yesterday + 60, activityName="Wadi Hanifa 12K")
    sent = time.monotonic()
    assert await garmin.push("activities", [run]) == 200
    assert time.monotonic() - sent < 0.5
    listed_url = f"{edge.base_url}/v1/{member.name}/importedActivities"

    async def listed() -> list[dict[str, Any]]:
        reply = await call("GET", listed_url, **member.auth)
        assert reply.status == 200, reply.body
        return list(reply.body.get("importedActivities", []))

    (imported,) = await eventually(listed)
    assert imported["name"] == f"{member.name}/importedActivities/garmin-{run['activityId']}"
    assert (imported["source"], imported["displayName"]) == ("garmin", "Wadi Hanifa 12K")
