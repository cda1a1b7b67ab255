"""Garmin's adapter against a local server speaking the Health API's OAuth 2.0 PKCE flow and user
endpoints as documented: codes with their verifier, refreshes, permissions, deregistration;
pushes as Garmin sends them, their data carried with each change."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import pytest_asyncio

from stack.garmin import GarminServer, running_garmin
from stride.activity.adapters.garmin import GarminClient, parse_push, verify_push
from stride.activity.domain.providers import ChangeKind, Grant, Provider
from stride.activity.service_layer.ports import ProviderRefused, ProviderUnavailable
from stride.platform.errors import Unauthenticated

REDIRECT = "https://app.stride.example/connect/garmin"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture(scope="module")
async def garmin() -> AsyncIterator[GarminServer]:
    async with running_garmin() as server:
        yield server


@pytest_asyncio.fixture
async def client(garmin: GarminServer) -> AsyncIterator[GarminClient]:
    adapter = GarminClient(
        client_id=garmin.client_id,
        client_secret=garmin.client_secret,
        redirect_uri=REDIRECT,
        connect_base=garmin.base_url,
        auth_base=garmin.base_url,
        api_base=garmin.base_url,
    )
    yield adapter
    await adapter.close()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def approve(uri: str) -> dict[str, str]:
    async with aiohttp.ClientSession() as session, session.get(uri, allow_redirects=False) as reply:
        assert reply.status == 302
        location = reply.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def connected(
    garmin: GarminServer, client: GarminClient, permissions: tuple[str, ...] | None = None
) -> tuple[str, Grant]:
    user = garmin.add_user() if permissions is None else garmin.add_user(permissions)
    garmin.sign_in(user)
    verifier, challenge = pkce()
    answer = await approve(client.authorize_uri("the-state", challenge))
    return user, await client.exchange_code(answer["code"], verifier)


async def test_a_code_with_its_verifier_gives_the_user_tokens_and_permissions_once(
    garmin: GarminServer, client: GarminClient
) -> None:
    user = garmin.add_user(("ACTIVITY_EXPORT", "HEALTH_EXPORT"))
    garmin.sign_in(user)
    verifier, challenge = pkce()
    answer = await approve(client.authorize_uri("s-1", challenge))
    asked = garmin.authorize_requests[-1]
    assert (asked["code_challenge"], asked["code_challenge_method"]) == (challenge, "S256")
    assert answer["state"] == "s-1"
    grant = await client.exchange_code(answer["code"], verifier)
    assert grant.account_id == user
    assert grant.scopes == ("ACTIVITY_EXPORT", "HEALTH_EXPORT")
    assert grant.tokens.expire_time > datetime.now(UTC)
    with pytest.raises(ProviderRefused):
        await client.exchange_code(answer["code"], verifier)


async def test_a_code_without_its_verifier_is_refused(
    garmin: GarminServer, client: GarminClient
) -> None:
    garmin.sign_in(garmin.add_user())
    _, challenge = pkce()
    code = (await approve(client.authorize_uri("s", challenge)))["code"]
    with pytest.raises(ProviderRefused):
        await client.exchange_code(code, pkce()[0])


async def test_a_refresh_token_gives_new_tokens_once_and_deregistering_ends_them(
    garmin: GarminServer, client: GarminClient
) -> None:
    user, grant = await connected(garmin, client)
    fresh = await client.refresh(grant.tokens.refresh_token)
    assert fresh.access_token != grant.tokens.access_token
    with pytest.raises(ProviderRefused):
        await client.refresh(grant.tokens.refresh_token)
    await client.revoke(fresh.access_token, user)
    assert garmin.deregistered == [user]
    assert garmin.tokens_of(user) == []
    await client.revoke(fresh.access_token, user)  # Deregistered already: nothing to do.


async def test_wrong_client_credentials_are_not_the_members_fault(garmin: GarminServer) -> None:
    wrong = GarminClient(
        client_id=garmin.client_id,
        client_secret="not-the-secret",
        redirect_uri=REDIRECT,
        connect_base=garmin.base_url,
        auth_base=garmin.base_url,
        api_base=garmin.base_url,
    )
    try:
        with pytest.raises(ProviderUnavailable):
            await wrong.refresh("whatever")
    finally:
        await wrong.close()


async def test_pushed_summaries_become_changes_carrying_their_data(
    garmin: GarminServer, client: GarminClient
) -> None:
    user = garmin.add_user()
    daily = garmin.daily(user, "2026-12-01", steps=11234, restingHeartRateInBeatsPerMinute=54)
    run = garmin.activity(user, int(datetime(2026, 12, 1, 5, tzinfo=UTC).timestamp()))
    body = json.dumps(
        {
            "dailies": [daily, {"userId": user, "calendarDate": "not a date"}],
            "activities": [run],
            "deregistrations": [{"userId": "gone-user"}],
            "userPermissionsChange": [{"userId": user, "permissions": ["HEALTH_EXPORT"]}],
            "sleeps": [{"userId": user, "summaryId": "s1"}],
        }
    ).encode()
    day_change, activity_change, gone, narrowed = parse_push(body, NOW)
    assert (day_change.kind, day_change.account_id, day_change.object_id) == (
        ChangeKind.DAY_UPDATED,
        user,
        "2026-12-01",
    )
    day = (await client.fetch("unused", day_change)).day
    assert day is not None
    assert day.day == date(2026, 12, 1)
    assert day.start_time == datetime(2026, 11, 30, 21, tzinfo=UTC)
    assert day.end_time - day.start_time == timedelta(days=1)
    assert (day.steps, day.resting_heart_rate) == (11234, 54.0)
    assert activity_change.kind is ChangeKind.CREATED
    [activity] = (await client.fetch("unused", activity_change)).activities
    assert activity.external_id == str(run["activityId"])
    assert (activity.distance_meters, activity.max_heart_rate) == (10021.5, 176.0)
    assert activity.start_time == datetime(2026, 12, 1, 5, tzinfo=UTC)
    assert (gone.kind, gone.account_id, gone.pushed) == (ChangeKind.ACCESS_REVOKED, "gone-user", "")
    assert (narrowed.kind, narrowed.object_id) == (ChangeKind.PERMISSIONS_CHANGED, "HEALTH_EXPORT")
    assert all(change.provider is Provider.GARMIN for change in parse_push(body, NOW))
    assert parse_push(b"[1, 2]", NOW) == parse_push(b"not json", NOW) == []


def test_a_push_must_name_our_application() -> None:
    verify_push("our-client-id", "our-client-id")
    for given in ("", "another-client-id"):
        with pytest.raises(Unauthenticated):
            verify_push(given, "our-client-id")
    with pytest.raises(Unauthenticated):  # Garmin not configured: no push is ours.
        verify_push("", "")
