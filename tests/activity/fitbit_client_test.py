"""Fitbit's adapter against a local server speaking Fitbit's Web API as documented: the
authorization code flow with PKCE and HTTP Basic client authentication, refreshes, revocation,
per-member subscriptions, a day's activities and figures and what each failure means; signed
notifications and the subscriber check."""

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

from stack.fitbit import FitbitServer, running_fitbit
from stride.activity.adapters.fitbit import (
    FitbitClient,
    parse_notifications,
    retry_after,
    verify_signature,
    verify_subscriber,
)
from stride.activity.domain.providers import ChangeKind, Grant, Provider, ProviderChange
from stride.activity.service_layer.ports import (
    ProviderRefused,
    ProviderUnavailable,
    RateLimited,
    TokenRejected,
)
from stride.platform.errors import NotFound

REDIRECT = "https://app.stride.example/connect/fitbit"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture(scope="module")
async def fitbit() -> AsyncIterator[FitbitServer]:
    async with running_fitbit() as server:
        yield server


@pytest_asyncio.fixture
async def client(fitbit: FitbitServer) -> AsyncIterator[FitbitClient]:
    adapter = FitbitClient(
        client_id=fitbit.client_id,
        client_secret=fitbit.client_secret,
        redirect_uri=REDIRECT,
        authorize_base=fitbit.base_url,
        api_base=fitbit.base_url,
    )
    yield adapter
    await adapter.close()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def approve(uri: str) -> dict[str, str]:
    """Opens the authorize page as the member's browser and reads where Fitbit sends it back."""
    async with aiohttp.ClientSession() as session, session.get(uri, allow_redirects=False) as reply:
        assert reply.status == 302
        location = reply.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def connected(fitbit: FitbitServer, client: FitbitClient) -> tuple[str, Grant]:
    user = fitbit.add_user()
    fitbit.sign_in(user)
    verifier, challenge = pkce()
    answer = await approve(client.authorize_uri("the-state", challenge))
    return user, await client.exchange_code(answer["code"], verifier)


def day_change(user: str, day: str) -> ProviderChange:
    return ProviderChange(Provider.FITBIT, user, ChangeKind.DAY_UPDATED, day, NOW)


async def test_the_authorize_page_asks_for_activities_with_a_pkce_challenge(
    fitbit: FitbitServer, client: FitbitClient
) -> None:
    fitbit.sign_in(fitbit.add_user())
    _, challenge = pkce()
    answer = await approve(client.authorize_uri("s-123", challenge))
    asked = fitbit.authorize_requests[-1]
    assert asked["response_type"] == "code"
    assert asked["redirect_uri"] == REDIRECT
    assert {"activity", "heartrate", "profile"} <= set(asked["scope"].split())
    assert asked["code_challenge"] == challenge
    assert asked["code_challenge_method"] == "S256"
    assert answer["state"] == "s-123"
    assert answer["code"]


async def test_a_code_with_its_verifier_gives_the_user_tokens_and_scopes_once(
    fitbit: FitbitServer, client: FitbitClient
) -> None:
    user = fitbit.add_user()
    fitbit.sign_in(user)
    verifier, challenge = pkce()
    code = (await approve(client.authorize_uri("s", challenge)))["code"]
    grant = await client.exchange_code(code, verifier)
    assert grant.account_id == user
    assert "activity" in grant.scopes
    assert grant.tokens.expire_time > datetime.now(UTC)
    with pytest.raises(ProviderRefused):
        await client.exchange_code(code, verifier)


async def test_a_code_without_its_verifier_is_refused(
    fitbit: FitbitServer, client: FitbitClient
) -> None:
    fitbit.sign_in(fitbit.add_user())
    _, challenge = pkce()
    code = (await approve(client.authorize_uri("s", challenge)))["code"]
    with pytest.raises(ProviderRefused):
        await client.exchange_code(code, pkce()[0])


async def test_wrong_client_credentials_are_not_the_members_fault(fitbit: FitbitServer) -> None:
    wrong = FitbitClient(
        client_id=fitbit.client_id,
        client_secret="not-the-secret",
        redirect_uri=REDIRECT,
        authorize_base=fitbit.base_url,
        api_base=fitbit.base_url,
    )
    try:
        with pytest.raises(ProviderUnavailable):
            await wrong.refresh("whatever")
    finally:
        await wrong.close()


async def test_a_refresh_token_gives_new_tokens_and_is_spent(
    fitbit: FitbitServer, client: FitbitClient
) -> None:
    _, grant = await connected(fitbit, client)
    fresh = await client.refresh(grant.tokens.refresh_token)
    assert fresh.access_token != grant.tokens.access_token
    with pytest.raises(ProviderRefused):
        await client.refresh(grant.tokens.refresh_token)


async def test_subscribing_creates_the_members_subscription_and_revoking_ends_it(
    fitbit: FitbitServer, client: FitbitClient
) -> None:
    user, grant = await connected(fitbit, client)
    await client.subscribe(grant.tokens.access_token, user)
    await client.subscribe(grant.tokens.access_token, user)  # Again: the same one.
    assert [key for key in fitbit.subscriptions if key[0] == user] == [(user, f"stride-{user}")]
    await client.revoke(grant.tokens.access_token, user)
    assert user in fitbit.revoked
    assert not [key for key in fitbit.subscriptions if key[0] == user]
    with pytest.raises(TokenRejected):
        await client.fetch(grant.tokens.access_token, day_change(user, "2026-12-01"))
    await client.revoke(grant.tokens.access_token, user)  # Revoked already: nothing to do.


async def test_a_day_gives_its_activities_steps_and_resting_heart_rate_in_the_members_zone(
    fitbit: FitbitServer, client: FitbitClient
) -> None:
    user, grant = await connected(fitbit, client)
    fitbit.set_day(user, "2026-12-01", steps=9876, resting_heart_rate=58)
    run = fitbit.add_activity(user, startTime="2026-12-01T08:30:00.000+03:00")
    fitbit.add_activity(user, startTime="2026-12-02T07:00:00.000+03:00")  # The next day.
    fetched = await client.fetch(grant.tokens.access_token, day_change(user, "2026-12-01"))
    day = fetched.day
    assert day is not None
    assert day.day == date(2026, 12, 1)
    assert day.start_time == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)  # Midnight at UTC+3.
    assert day.end_time - day.start_time == timedelta(days=1)
    assert (day.steps, day.resting_heart_rate) == (9876, 58.0)
    [activity] = fetched.activities
    assert activity.external_id == str(run["logId"])
    assert activity.start_time == datetime(2026, 12, 1, 5, 30, tzinfo=UTC)
    assert (activity.elapsed_seconds, activity.moving_seconds) == (2917, 2790)
    assert activity.distance_meters == pytest.approx(8046.7)
    assert activity.average_heart_rate == 151.0


async def test_a_day_without_heart_rate_scope_has_no_resting_heart_rate(
    fitbit: FitbitServer, client: FitbitClient
) -> None:
    fitbit.granted_scope = "activity profile"
    try:
        user, grant = await connected(fitbit, client)
    finally:
        fitbit.granted_scope = ""
    assert "heartrate" not in grant.scopes
    fitbit.set_day(user, "2026-12-01", steps=120, resting_heart_rate=61)
    fetched = await client.fetch(grant.tokens.access_token, day_change(user, "2026-12-01"))
    assert fetched.day is not None
    assert (fetched.day.steps, fetched.day.resting_heart_rate) == (120, None)


async def test_rate_limits_say_when_to_retry_and_other_failures_are_unavailable(
    fitbit: FitbitServer, client: FitbitClient
) -> None:
    user, grant = await connected(fitbit, client)
    fitbit.fail_next(1, 429)
    with pytest.raises(RateLimited) as limited:
        await client.fetch(grant.tokens.access_token, day_change(user, "2026-12-01"))
    assert limited.value.retry_after_seconds == 37.0
    fitbit.fail_next(1, 503)
    with pytest.raises(ProviderUnavailable):
        await client.fetch(grant.tokens.access_token, day_change(user, "2026-12-01"))
    fitbit.expire_access_tokens()
    with pytest.raises(TokenRejected):
        await client.fetch(grant.tokens.access_token, day_change(user, "2026-12-01"))


def test_retry_after_falls_back_to_the_hours_reset_then_to_an_hour() -> None:
    assert retry_after({"Retry-After": "12"}) == 12.0
    assert retry_after({"Fitbit-Rate-Limit-Reset": "1800"}) == 1800.0
    assert retry_after({"Retry-After": "soon"}) == 3600.0


def test_a_notification_signed_with_our_secret_is_taken_and_any_other_refused(
    fitbit: FitbitServer,
) -> None:
    body = json.dumps(
        [{"collectionType": "activities", "date": "2026-12-01", "ownerId": "ABC123"}]
    ).encode()
    verify_signature(body, fitbit.sign(body), fitbit.client_secret)
    for forged in ("", fitbit.sign(body + b" "), base64.b64encode(b"x" * 20).decode()):
        with pytest.raises(NotFound):
            verify_signature(body, forged, fitbit.client_secret)
    with pytest.raises(NotFound):
        verify_signature(body, fitbit.sign(body), "")  # Not configured: nothing is ours.


def test_the_subscriber_check_takes_only_our_code() -> None:
    verify_subscriber("our-code", "our-code")
    for given in ("", "other", "our-cod"):
        with pytest.raises(NotFound):
            verify_subscriber(given, "our-code")
    with pytest.raises(NotFound):
        verify_subscriber("", "")


def test_notifications_name_days_to_read_and_members_gone() -> None:
    body = json.dumps(
        [
            {"collectionType": "activities", "date": "2026-12-01", "ownerId": "AAA111"},
            {"collectionType": "sleep", "date": "2026-12-01", "ownerId": "AAA111"},
            {"collectionType": "userRevokedAccess", "date": "2026-12-01", "ownerId": "BBB222"},
            {"collectionType": "activities", "date": "not a date", "ownerId": "AAA111"},
            {"collectionType": "activities", "date": "2026-12-01", "ownerId": 7},
            "not an object",
        ]
    ).encode()
    assert parse_notifications(body, NOW) == [
        ProviderChange(Provider.FITBIT, "AAA111", ChangeKind.DAY_UPDATED, "2026-12-01", NOW),
        ProviderChange(Provider.FITBIT, "BBB222", ChangeKind.ACCESS_REVOKED, "BBB222", NOW),
    ]
    assert parse_notifications(b"{not json", NOW) == []
    assert parse_notifications(b'{"an": "object"}', NOW) == []
