"""Strava through Envoy, as Strava and the app reach it: the subscription handshake answers the
challenge only with our verify token; a member connects Strava (authorize, code, complete) and
an event Strava posts for their athlete becomes an activity they list over REST; events not for
our subscription store nothing."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

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
from stack.strava import StravaServer, create_subscription, post_event, running_strava
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port
from stride.platform.testing.probes import eventually

EDGE_PORT = free_port()  # Known before the edge starts: the services fetch the JWKS from it.
VERIFY_TOKEN = "e2e-strava-verify-token"
REDIRECT = "https://app.stride.example/connect/strava"


@pytest_asyncio.fixture(scope="module")
async def strava() -> AsyncIterator[StravaServer]:
    async with running_strava() as server:
        yield server


@pytest_asyncio.fixture(scope="module")
async def activity(
    postgres_server_url: str, nats_url: str, event_prefix: str, strava: StravaServer
) -> AsyncIterator[RunningServer]:
    async with running_activity(
        postgres_server_url,
        nats_url,
        event_prefix,
        edge_jwks_url(EDGE_PORT),
        strava_client_id=strava.client_id,
        strava_client_secret=SecretStr(strava.client_secret),
        strava_redirect_uri=REDIRECT,
        strava_verify_token=SecretStr(VERIFY_TOKEN),
        strava_subscription_id=str(strava.next_subscription_id),
        strava_oauth_base=strava.oauth_base,
        strava_api_base=strava.api_base,
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


def callback(edge: Edge) -> str:
    return f"{edge.base_url}/v1/webhooks/strava"


async def handshake(edge: Edge, verify_token: str, challenge: str) -> tuple[int, str]:
    query = urlencode(
        {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}
    )
    reply = await call("GET", f"{callback(edge)}?{query}")
    return reply.status, reply.text or json.dumps(reply.body)


async def test_the_handshake_answers_the_challenge_only_with_our_verify_token(
    edge: Edge, strava: StravaServer
) -> None:
    status, body = await handshake(edge, VERIFY_TOKEN, "15f7d1a91c1f40")
    assert status == 200
    assert json.loads(body) == {"hub.challenge": "15f7d1a91c1f40"}
    assert (await handshake(edge, "a-guess", "15f7d1a91c1f40"))[0] == 401
    refused, _ = await create_subscription(strava, callback(edge), "a-guess")
    assert refused == 400
    assert strava.subscription is None
    created, body_created = await create_subscription(strava, callback(edge), VERIFY_TOKEN)
    assert (created, body_created) == (201, {"id": strava.next_subscription_id})


async def redirect_query(uri: str) -> dict[str, str]:
    """Strava's answer to the member's browser: the redirect to the app, with its query."""
    async with aiohttp.ClientSession() as session, session.get(uri, allow_redirects=False) as reply:
        assert reply.status == 302
        location = reply.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def test_a_connected_member_s_strava_activity_is_imported_and_listed_over_rest(
    edge: Edge, strava: StravaServer, nats_url: str, event_prefix: str
) -> None:
    if strava.subscription is None:
        await create_subscription(strava, callback(edge), VERIFY_TOKEN)
    member = await new_account(edge, nats_url, event_prefix)
    other = await new_account(edge, nats_url, event_prefix)
    athlete = strava.add_athlete()
    strava.sign_in(athlete)
    connection = f"{edge.base_url}/v1/{member.name}/providerConnections/strava"
    started = await call("POST", f"{connection}:start", {}, **member.auth)
    assert started.status == 200, started.body
    assert started.body["authorizeUri"].startswith(strava.oauth_base + "/authorize?")
    back = await redirect_query(started.body["authorizeUri"])
    by_other = await call("POST", f"{connection}:complete", back, **other.auth)
    assert by_other.status == 403
    completed = await call("POST", f"{connection}:complete", back, **member.auth)
    assert completed.status == 200, completed.body
    assert (completed.body["state"], completed.body["providerAccount"]) == (
        "STATE_CONNECTED",
        str(athlete),
    )

    run = strava.add_activity(athlete, name="Wadi Hanifa 12K", distance=12034.0)
    sent = time.monotonic()
    assert await strava.push_event(athlete, run["id"]) == 200
    assert time.monotonic() - sent < 2.0  # Strava's limit to acknowledge.
    listed_url = f"{edge.base_url}/v1/{member.name}/importedActivities"

    async def listed() -> list[dict[str, Any]]:
        reply = await call("GET", listed_url, **member.auth)
        assert reply.status == 200, reply.body
        return list(reply.body.get("importedActivities", []))

    (imported,) = await eventually(listed)
    assert imported["name"] == f"{member.name}/importedActivities/strava-{run['id']}"
    assert (imported["source"], imported["sportType"], imported["displayName"]) == (
        "strava",
        "Run",
        "Wadi Hanifa 12K",
    )
    assert (imported["distanceMeters"], imported["averageHeartRate"]) == (12034.0, 151.3)
    assert (await call("GET", listed_url, **other.auth)).status == 403
    # The member's export holds the connection and the activity, never the tokens.
    export_url = f"{edge.base_url}/v1/{member.name}/activityData:export"
    exported = await call("GET", export_url, **member.auth)
    assert [c["name"] for c in exported.body["providerConnections"]] == [
        f"{member.name}/providerConnections/strava"
    ]
    assert [a["name"] for a in exported.body["importedActivities"]] == [imported["name"]]
    written = json.dumps(exported.body)
    tokens = strava.tokens_of(athlete)
    assert tokens
    assert not any(token in written for token in tokens)

    # Not our subscription: refused, nothing stored. An event for an athlete nobody connected
    # is Strava's to stop sending: acknowledged, nothing stored.
    forged_run = strava.add_activity(athlete, name="Forged")
    forged = {
        "aspect_type": "create",
        "event_time": int(time.time()),
        "object_id": forged_run["id"],
        "object_type": "activity",
        "owner_id": athlete,
        "subscription_id": strava.next_subscription_id + 1,
        "updates": {},
    }
    assert await post_event(callback(edge), forged) == 401
    stranger = strava.add_athlete()
    unknown = strava.add_activity(stranger)
    assert await strava.push_event(stranger, unknown["id"]) == 200
    assert await post_event(callback(edge), {"object_type": "activity"}) == 400
    # A later event of ours arriving shows the ones before it were dealt with.
    later = strava.add_activity(athlete, name="Evening walk", sport_type="Walk")
    assert await strava.push_event(athlete, later["id"]) == 200

    async def both() -> list[str] | None:
        names = [a["displayName"] for a in await listed()]
        return names if "Evening walk" in names else None

    assert sorted(await eventually(both)) == ["Evening walk", "Wadi Hanifa 12K"]
