"""Strava's adapter against a local server speaking Strava's OAuth and API as documented: codes,
refreshes, revocation, activities and what each failure means; webhook events as Strava posts
them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import pytest_asyncio

from stack.strava import StravaServer, running_strava
from stride.activity.adapters.strava import StravaClient, parse_webhook_event, retry_after
from stride.activity.domain.providers import ChangeKind, Grant, Provider
from stride.activity.service_layer.ports import (
    ProviderRefused,
    ProviderUnavailable,
    RateLimited,
    TokenRejected,
)
from stride.platform.errors import InvalidArgument
from stride.platform.local.ports import free_port

REDIRECT = "https://app.stride.example/connect/strava"


@pytest_asyncio.fixture(scope="module")
async def strava() -> AsyncIterator[StravaServer]:
    async with running_strava() as server:
        yield server


@pytest_asyncio.fixture
async def client(strava: StravaServer) -> AsyncIterator[StravaClient]:
    adapter = StravaClient(
        client_id=strava.client_id,
        client_secret=strava.client_secret,
        redirect_uri=REDIRECT,
        oauth_base=strava.oauth_base,
        api_base=strava.api_base,
    )
    yield adapter
    await adapter.close()


async def approve(uri: str) -> dict[str, str]:
    """Opens the authorize page as the member's browser and reads where Strava sends it back."""
    async with aiohttp.ClientSession() as session, session.get(uri, allow_redirects=False) as reply:
        assert reply.status == 302
        location = reply.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def connected(strava: StravaServer, client: StravaClient) -> tuple[int, Grant]:
    athlete = strava.add_athlete()
    strava.sign_in(athlete)
    answer = await approve(client.authorize_uri("the-state"))
    return athlete, await client.exchange_code(answer["code"])


async def test_the_authorize_page_asks_to_read_every_activity_and_returns_the_state(
    strava: StravaServer, client: StravaClient
) -> None:
    strava.sign_in(strava.add_athlete())
    answer = await approve(client.authorize_uri("s-123"))
    asked = strava.authorize_requests[-1]
    assert asked["response_type"] == "code"
    assert asked["redirect_uri"] == REDIRECT
    assert "activity:read_all" in asked["scope"].split(",")
    assert answer["state"] == "s-123"
    assert answer["code"]


async def test_a_code_gives_the_athlete_and_tokens_once(
    strava: StravaServer, client: StravaClient
) -> None:
    athlete = strava.add_athlete()
    strava.sign_in(athlete)
    code = (await approve(client.authorize_uri("s")))["code"]
    grant = await client.exchange_code(code)
    assert grant.account_id == str(athlete)
    assert grant.tokens.expire_time > datetime.now(UTC)
    with pytest.raises(ProviderRefused):
        await client.exchange_code(code)


async def test_a_refresh_token_gives_new_tokens_and_is_spent(
    strava: StravaServer, client: StravaClient
) -> None:
    _, grant = await connected(strava, client)
    fresh = await client.refresh(grant.tokens.refresh_token)
    assert fresh.access_token != grant.tokens.access_token
    with pytest.raises(ProviderRefused):
        await client.refresh(grant.tokens.refresh_token)


async def test_an_activity_is_read_with_the_athlete_s_token(
    strava: StravaServer, client: StravaClient
) -> None:
    athlete, grant = await connected(strava, client)
    run = strava.add_activity(athlete, name="Corniche 10K", distance=10012.5)
    data = await client.fetch_activity(grant.tokens.access_token, str(run["id"]))
    assert data is not None
    assert (data.external_id, data.display_name, data.sport_type) == (
        str(run["id"]),
        "Corniche 10K",
        "Run",
    )
    assert data.start_time == datetime(2026, 12, 1, 5, 30, tzinfo=UTC)
    assert (data.elapsed_seconds, data.moving_seconds) == (2917, 2790)
    assert (data.distance_meters, data.elevation_gain_meters) == (10012.5, 42.0)
    assert (data.average_heart_rate, data.max_heart_rate) == (151.3, 178.0)


async def test_an_activity_without_heart_rate_has_none(
    strava: StravaServer, client: StravaClient
) -> None:
    athlete, grant = await connected(strava, client)
    ride = strava.add_activity(
        athlete, sport_type="Ride", has_heartrate=False, average_heartrate=None
    )
    del strava.activities[ride["id"]]["max_heartrate"]
    data = await client.fetch_activity(grant.tokens.access_token, str(ride["id"]))
    assert data is not None
    assert data.sport_type == "Ride"
    assert (data.average_heart_rate, data.max_heart_rate) == (None, None)


async def test_someone_else_s_or_a_deleted_activity_is_none(
    strava: StravaServer, client: StravaClient
) -> None:
    _, grant = await connected(strava, client)
    theirs = strava.add_activity(strava.add_athlete())
    assert await client.fetch_activity(grant.tokens.access_token, str(theirs["id"])) is None
    assert await client.fetch_activity(grant.tokens.access_token, "1") is None


async def test_an_expired_token_is_rejected(strava: StravaServer, client: StravaClient) -> None:
    athlete, grant = await connected(strava, client)
    run = strava.add_activity(athlete)
    strava.expire_access_tokens()
    with pytest.raises(TokenRejected):
        await client.fetch_activity(grant.tokens.access_token, str(run["id"]))


async def test_a_rate_limit_says_when_to_come_back(
    strava: StravaServer, client: StravaClient
) -> None:
    athlete, grant = await connected(strava, client)
    run = strava.add_activity(athlete)
    strava.fail_next(1, status=429)
    with pytest.raises(RateLimited) as limited:
        await client.fetch_activity(grant.tokens.access_token, str(run["id"]))
    assert 0 < limited.value.retry_after_seconds <= 15 * 60


async def test_server_errors_and_silence_are_worth_retrying(
    strava: StravaServer, client: StravaClient
) -> None:
    athlete, grant = await connected(strava, client)
    run = strava.add_activity(athlete)
    strava.fail_next(1, status=502)
    with pytest.raises(ProviderUnavailable):
        await client.fetch_activity(grant.tokens.access_token, str(run["id"]))
    nowhere = StravaClient(
        client_id="1",
        client_secret="s",
        redirect_uri=REDIRECT,
        oauth_base=f"http://127.0.0.1:{free_port()}/oauth",
        api_base=f"http://127.0.0.1:{free_port()}/api/v3",
    )
    try:
        with pytest.raises(ProviderUnavailable):
            await nowhere.refresh("r")
    finally:
        await nowhere.close()


async def test_wrong_client_credentials_are_not_blamed_on_the_member(
    strava: StravaServer, caplog: pytest.LogCaptureFixture
) -> None:
    misconfigured = StravaClient(
        client_id=strava.client_id,
        client_secret="not-our-secret",
        redirect_uri=REDIRECT,
        oauth_base=strava.oauth_base,
        api_base=strava.api_base,
    )
    try:
        with pytest.raises(ProviderUnavailable):
            await misconfigured.refresh("any")
    finally:
        await misconfigured.close()
    assert "client credentials" in caplog.text
    assert "not-our-secret" not in caplog.text


async def test_revoking_ends_every_token_and_a_dead_token_counts_as_revoked(
    strava: StravaServer, client: StravaClient
) -> None:
    athlete, grant = await connected(strava, client)
    await client.revoke(grant.tokens.access_token)
    assert strava.deauthorized[-1] == athlete
    assert not strava.tokens_of(athlete)
    await client.revoke(grant.tokens.access_token)  # Already gone: nothing to do.
    with pytest.raises(ProviderRefused):
        await client.refresh(grant.tokens.refresh_token)


def test_the_rate_limit_window_that_is_spent_decides_the_wait() -> None:
    at = datetime(2026, 12, 2, 13, 7, 30, tzinfo=UTC)
    short_spent = {"X-RateLimit-Limit": "200,2000", "X-RateLimit-Usage": "200,950"}
    assert retry_after(short_spent, at) == 7 * 60 + 30  # The quarter hour at 13:15.
    read_day_spent = {
        "X-RateLimit-Limit": "200,2000",
        "X-RateLimit-Usage": "12,1100",
        "X-ReadRateLimit-Limit": "100,1000",
        "X-ReadRateLimit-Usage": "12,1000",
    }
    assert retry_after(read_day_spent, at) == (10 * 60 + 52) * 60 + 30  # Midnight UTC.
    assert retry_after({}, at) == 7 * 60 + 30


def event(**overrides: object) -> bytes:
    document: dict[str, object] = {
        "aspect_type": "create",
        "event_time": 1764680400,
        "object_id": 1360128428,
        "object_type": "activity",
        "owner_id": 134815,
        "subscription_id": 120475,
        "updates": {},
    }
    return json.dumps({**document, **overrides}).encode()


def test_webhook_events_become_changes() -> None:
    created = parse_webhook_event(event())
    assert created.subscription_id == "120475"
    assert created.change is not None
    assert created.change.account_id == "134815"
    assert created.change.provider is Provider.STRAVA
    assert (created.change.kind, created.change.object_id) == (ChangeKind.CREATED, "1360128428")
    assert created.change.event_time == datetime.fromtimestamp(1764680400, UTC)
    updated = parse_webhook_event(event(aspect_type="update", updates={"title": "Messy"}))
    deleted = parse_webhook_event(event(aspect_type="delete"))
    assert updated.change
    assert updated.change.kind is ChangeKind.UPDATED
    assert deleted.change
    assert deleted.change.kind is ChangeKind.DELETED


def test_an_athlete_withdrawing_access_is_a_change_and_other_athlete_updates_are_not() -> None:
    revoked = parse_webhook_event(
        event(
            object_type="athlete",
            object_id=134815,
            aspect_type="update",
            updates={"authorized": "false"},
        )
    )
    assert revoked.change is not None
    assert revoked.change.kind is ChangeKind.ACCESS_REVOKED
    renamed = parse_webhook_event(
        event(object_type="athlete", aspect_type="update", updates={"name": "x"})
    )
    assert renamed.change is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"object_type": "activity"}).encode(),
        event(object_id="1360128428"),
        event(owner_id=-1),
        event(subscription_id=2**70),
        event(event_time=True),
        event(updates=["title"]),
    ],
)
def test_anything_else_is_refused_as_a_bad_payload(body: bytes) -> None:
    with pytest.raises(InvalidArgument):
        parse_webhook_event(body)
