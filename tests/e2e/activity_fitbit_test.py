"""Fitbit through Envoy, as Fitbit and the app reach it: the subscriber check gets 204 only for
our verification code (404 otherwise, as Fitbit requires); a member connects Fitbit (authorize
with PKCE, code, complete) and a notification Fitbit signs for their day becomes an activity
they list over REST, acknowledged with 204 well within Fitbit's time; a notification whose
signature is not Fitbit's is refused with 404 and stores nothing."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
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
from stack.fitbit import FitbitServer, running_fitbit
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port
from stride.platform.testing.probes import eventually

EDGE_PORT = free_port()  # Known before the edge starts: the services fetch the JWKS from it.
VERIFICATION_CODE = "e2e-fitbit-verification-code"
REDIRECT = "https://app.stride.example/connect/fitbit"
# Yesterday at the member's Fitbit (UTC+3).
DAY = (datetime.now(UTC) + timedelta(hours=3) - timedelta(days=1)).date()
BEFORE = DAY - timedelta(days=1)


@pytest_asyncio.fixture(scope="module")
async def fitbit() -> AsyncIterator[FitbitServer]:
    async with running_fitbit() as server:
        yield server


@pytest_asyncio.fixture(scope="module")
async def activity(
    postgres_server_url: str, nats_url: str, event_prefix: str, fitbit: FitbitServer
) -> AsyncIterator[RunningServer]:
    async with running_activity(
        postgres_server_url,
        nats_url,
        event_prefix,
        edge_jwks_url(EDGE_PORT),
        fitbit_client_id=fitbit.client_id,
        fitbit_client_secret=SecretStr(fitbit.client_secret),
        fitbit_redirect_uri=REDIRECT,
        fitbit_verification_code=SecretStr(VERIFICATION_CODE),
        fitbit_authorize_base=fitbit.base_url,
        fitbit_api_base=fitbit.base_url,
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


def subscriber(edge: Edge) -> str:
    return f"{edge.base_url}/v1/webhooks/fitbit"


async def test_the_subscriber_check_gets_204_only_for_our_verification_code(
    edge: Edge, fitbit: FitbitServer
) -> None:
    ours = await call("GET", f"{subscriber(edge)}?{urlencode({'verify': VERIFICATION_CODE})}")
    assert ours.status == 204
    assert not ours.text
    wrong = await call("GET", f"{subscriber(edge)}?{urlencode({'verify': 'a-guess'})}")
    assert wrong.status == 404
    assert not await fitbit.verify_subscriber(subscriber(edge), "not-our-code")
    assert await fitbit.verify_subscriber(subscriber(edge), VERIFICATION_CODE)


async def redirect_query(uri: str) -> dict[str, str]:
    """Fitbit's answer to the member's browser: the redirect to the app, with its query."""
    async with aiohttp.ClientSession() as session, session.get(uri, allow_redirects=False) as reply:
        assert reply.status == 302
        location = reply.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def test_a_signed_notification_imports_the_members_day_and_a_forged_one_nothing(
    edge: Edge, fitbit: FitbitServer, nats_url: str, event_prefix: str
) -> None:
    if not fitbit.subscriber_url:
        assert await fitbit.verify_subscriber(subscriber(edge), VERIFICATION_CODE)
    member = await new_account(edge, nats_url, event_prefix)
    other = await new_account(edge, nats_url, event_prefix)
    user = fitbit.add_user(offset_hours=3)
    fitbit.sign_in(user)
    connection = f"{edge.base_url}/v1/{member.name}/providerConnections/fitbit"
    started = await call("POST", f"{connection}:start", {}, **member.auth)
    assert started.status == 200, started.body
    assert started.body["authorizeUri"].startswith(fitbit.base_url + "/oauth2/authorize?")
    back = await redirect_query(started.body["authorizeUri"])
    assert set(back) == {"code", "state"}  # Fitbit's redirect names no scope.
    by_other = await call("POST", f"{connection}:complete", back, **other.auth)
    assert by_other.status == 403
    completed = await call("POST", f"{connection}:complete", back, **member.auth)
    assert completed.status == 200, completed.body
    assert (completed.body["state"], completed.body["providerAccount"]) == (
        "STATE_CONNECTED",
        user,
    )
    assert "activity" in completed.body["scopes"]

    run = fitbit.add_activity(
        user, activityName="Wadi Hanifa 12K", startTime=f"{DAY}T07:00:00.000+03:00"
    )
    sent = time.monotonic()
    assert await fitbit.notify(user, DAY.isoformat()) == 204
    assert time.monotonic() - sent < 0.5  # Fitbit wants its answer within seconds.
    listed_url = f"{edge.base_url}/v1/{member.name}/importedActivities"

    async def listed() -> list[dict[str, Any]]:
        reply = await call("GET", listed_url, **member.auth)
        assert reply.status == 200, reply.body
        return list(reply.body.get("importedActivities", []))

    (imported,) = await eventually(listed)
    assert imported["name"] == f"{member.name}/importedActivities/fitbit-{run['logId']}"
    assert (imported["source"], imported["displayName"]) == ("fitbit", "Wadi Hanifa 12K")
    assert imported["distanceMeters"] == pytest.approx(8046.7)

    # Signed otherwise (or not at all): refused with 404, nothing queued or stored.
    forged_run = fitbit.add_activity(
        user, activityName="Forged", startTime=f"{BEFORE}T07:00:00.000+03:00"
    )
    forged_signature = fitbit.sign(b"another body")
    assert await fitbit.notify(user, BEFORE.isoformat(), signature=forged_signature) == 404
    assert await fitbit.notify(user, BEFORE.isoformat(), signature="") == 404
    body = json.dumps([{"collectionType": "activities", "date": str(BEFORE), "ownerId": user}])
    unsigned = await call("POST", subscriber(edge), body.encode())
    assert unsigned.status == 404
    # A later notification of ours being dealt with shows the ones before it were.
    later = fitbit.add_activity(
        user, activityName="Evening walk", startTime=f"{DAY}T19:00:00.000+03:00"
    )
    assert await fitbit.notify(user, DAY.isoformat()) == 204

    async def both() -> list[str] | None:
        names = [a["externalId"] for a in await listed()]
        return names if str(later["logId"]) in names else None

    assert sorted(await eventually(both)) == sorted([str(run["logId"]), str(later["logId"])])
    assert str(forged_run["logId"]) not in [a["externalId"] for a in await listed()]
