"""Fitbit connections and imports against real Postgres and NATS and a local Fitbit: a member
connects with PKCE and gets a subscription, signed notifications queue the member's day on
JetStream, and the worker keeps the day's activities and its steps and resting heart rate (with
consent) as health samples ranked by the member's device priority; a day read again replaces
what was kept of it; rate limits retry when Fitbit says; a member who disconnects or withdraws
access leaves no connection behind."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import pytest_asyncio
from activity.support import POLICY, consenting, make_months
from sqlalchemy import text

from stack.fitbit import FitbitServer, running_fitbit
from stride.activity.adapters.change_queue import JetStreamChangeQueue
from stride.activity.adapters.fitbit import FitbitClient
from stride.activity.domain.health import (
    Device,
    DeviceType,
    GivenSample,
    HealthKind,
    Resolution,
    Rollup,
    RollupRange,
)
from stride.activity.domain.providers import (
    ChangeKind,
    ConnectionState,
    ImportedActivity,
    Provider,
    ProviderChange,
)
from stride.activity.service_layer import health, providers
from stride.activity.service_layer.commands import (
    CompleteConnection,
    ListHealthRollups,
    UpdateHealthPriority,
    UploadHealthSamples,
)
from stride.activity.service_layer.ports import Providers
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.errors import InvalidArgument
from stride.platform.events.consumer import RetryLater
from stride.platform.testing.probes import eventually

REDIRECT = "https://app.stride.example/connect/fitbit"
# Yesterday at the member's Fitbit (UTC+3): the day notifications name.
DAY = (datetime.now(UTC) + timedelta(hours=3) - timedelta(days=1)).date()
DAY_START = datetime.combine(DAY, datetime.min.time(), UTC) - timedelta(hours=3)

NewUow = partial[ActivityUnitOfWork]
# Changes the webhooks queue are imported as they come.
pytestmark = pytest.mark.usefixtures("import_worker")


@pytest_asyncio.fixture(scope="module")
async def fitbit() -> AsyncIterator[FitbitServer]:
    async with running_fitbit() as server:
        yield server


@pytest_asyncio.fixture(scope="module")
async def configured(fitbit: FitbitServer) -> AsyncIterator[Providers]:
    client = FitbitClient(
        client_id=fitbit.client_id,
        client_secret=fitbit.client_secret,
        redirect_uri=REDIRECT,
        authorize_base=fitbit.base_url,
        api_base=fitbit.base_url,
    )
    yield {Provider.FITBIT: client}
    await client.close()


@pytest_asyncio.fixture(scope="module", autouse=True)
async def months_made(new_uow: partial[ActivityUnitOfWork]) -> None:
    await make_months(new_uow)


async def redirect_of(uri: str) -> dict[str, str]:
    async with aiohttp.ClientSession() as session, session.get(uri, allow_redirects=False) as reply:
        location = reply.headers["location"]
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def connect(
    fitbit: FitbitServer, new_uow: NewUow, configured: Providers, member: uuid.UUID | None = None
) -> tuple[uuid.UUID, str]:
    member = member or uuid.uuid4()
    user = fitbit.add_user(offset_hours=3)
    fitbit.sign_in(user)
    uri, _ = await providers.start_connection(new_uow(), configured, member, Provider.FITBIT)
    back = await redirect_of(uri)
    # Fitbit's redirect has no scope: its token answer says what was granted.
    command = CompleteConnection(member, Provider.FITBIT, back["code"], back["state"], "")
    connection = await providers.complete_connection(new_uow, configured, command)
    assert connection.account_id == user
    return member, user


def day_change(user: str) -> ProviderChange:
    return ProviderChange(
        Provider.FITBIT, user, ChangeKind.DAY_UPDATED, DAY.isoformat(), datetime.now(UTC)
    )


async def imported(new_uow: NewUow, member: uuid.UUID) -> list[ImportedActivity]:
    return await providers.list_imported(new_uow(), member, 0, 100)


async def day_rollups(new_uow: NewUow, member: uuid.UUID, kind: HealthKind) -> list[Rollup]:
    wanted = RollupRange(kind, Resolution.HOUR, DAY_START, DAY_START + timedelta(days=1))
    return await health.list_rollups(new_uow(), ListHealthRollups(member, wanted))


async def test_a_member_connects_with_pkce_and_gets_a_subscription(
    fitbit: FitbitServer, new_uow: NewUow, configured: Providers
) -> None:
    member = uuid.uuid4()
    user = fitbit.add_user()
    fitbit.sign_in(user)
    uri, _ = await providers.start_connection(new_uow(), configured, member, Provider.FITBIT)
    async with new_uow() as uow:
        dump = await uow.session.execute(
            text("SELECT row_to_json(p)::text FROM pending_authorizations p")
        )
        pending = " ".join(dump.scalars())
    assert "code_verifier" in pending  # Sealed: its column, never the verifier itself.
    back = await redirect_of(uri)
    assert fitbit.authorize_requests[-1]["code_challenge_method"] == "S256"
    command = CompleteConnection(member, Provider.FITBIT, back["code"], back["state"], "")
    connection = await providers.complete_connection(new_uow, configured, command)
    assert connection.state is ConnectionState.CONNECTED
    assert {"activity", "heartrate", "profile"} <= set(connection.scopes)
    assert (user, f"stride-{user}") in fitbit.subscriptions
    token = fitbit.tokens_of(user)[0]
    async with new_uow() as uow:
        dump = await uow.session.execute(
            text("SELECT row_to_json(c)::text FROM provider_connections c")
        )
        assert token not in " ".join(dump.scalars())


async def test_a_grant_without_activity_access_is_revoked_and_connects_nothing(
    fitbit: FitbitServer, new_uow: NewUow, configured: Providers
) -> None:
    member = uuid.uuid4()
    user = fitbit.add_user()
    fitbit.sign_in(user)
    fitbit.granted_scope = "profile"  # The member unticked activities.
    try:
        uri, _ = await providers.start_connection(new_uow(), configured, member, Provider.FITBIT)
        back = await redirect_of(uri)
        command = CompleteConnection(member, Provider.FITBIT, back["code"], back["state"], "")
        with pytest.raises(InvalidArgument) as narrow:
            await providers.complete_connection(new_uow, configured, command)
    finally:
        fitbit.granted_scope = ""
    assert narrow.value.violations[0].field == "scope"
    assert user in fitbit.revoked
    assert await providers.list_connections(new_uow(), member, 0, 10) == []


async def test_a_notified_day_keeps_its_activities_steps_and_resting_heart_rate(
    fitbit: FitbitServer, new_uow: NewUow, configured: Providers, changes: JetStreamChangeQueue
) -> None:
    member, user = await connect(
        fitbit, new_uow, configured, await consenting(new_uow, uuid.uuid4())
    )
    fitbit.set_day(user, DAY.isoformat(), steps=9876, resting_heart_rate=58)
    run = fitbit.add_activity(user, startTime=f"{DAY.isoformat()}T07:15:00.000+03:00")
    await providers.receive_changes(new_uow(), changes, [day_change(user)])
    [activity] = await eventually(partial(imported, new_uow, member))
    assert activity.activity_id == f"fitbit-{run['logId']}"
    assert activity.data.start_time == DAY_START + timedelta(hours=7, minutes=15)
    [steps] = await eventually(partial(day_rollups, new_uow, member, HealthKind.STEPS))
    assert (steps.start_time, steps.figures.total) == (DAY_START, 9876)
    assert steps.device_type is DeviceType.FITNESS_BAND
    [resting] = await day_rollups(new_uow, member, HealthKind.RESTING_HEART_RATE)
    assert resting.figures.maximum == 58

    # Fitbit tells of the day again: it is read again and replaces what was kept of it.
    fitbit.set_day(user, DAY.isoformat(), steps=12000, resting_heart_rate=57)
    fitbit.delete_activity(user, run["logId"])
    walk = fitbit.add_activity(
        user, activityName="Walk", startTime=f"{DAY.isoformat()}T18:00:00.000+03:00"
    )
    await providers.receive_changes(new_uow(), changes, [day_change(user)])

    async def replaced() -> bool:
        rollups = await day_rollups(new_uow, member, HealthKind.STEPS)
        return [r.figures.total for r in rollups] == [12000]

    await eventually(replaced)
    assert [a.data.external_id for a in await imported(new_uow, member)] == [str(walk["logId"])]


async def test_resting_heart_rate_is_not_kept_without_consent(
    fitbit: FitbitServer, new_uow: NewUow, configured: Providers, changes: JetStreamChangeQueue
) -> None:
    member, user = await connect(fitbit, new_uow, configured)
    fitbit.set_day(user, DAY.isoformat(), steps=4321, resting_heart_rate=60)
    await providers.receive_changes(new_uow(), changes, [day_change(user)])
    [steps] = await eventually(partial(day_rollups, new_uow, member, HealthKind.STEPS))
    assert steps.figures.total == 4321
    await consenting(new_uow, member)  # Reading needs consent too: nothing was kept before it.
    assert await day_rollups(new_uow, member, HealthKind.RESTING_HEART_RATE) == []


async def test_fitbit_and_the_phone_counting_the_same_day_are_read_by_device_priority(
    fitbit: FitbitServer, new_uow: NewUow, configured: Providers, changes: JetStreamChangeQueue
) -> None:
    member, user = await connect(fitbit, new_uow, configured)
    phone = Device(DeviceType.PHONE, "Apple Inc.", "iPhone15,2")
    counted = GivenSample(
        "phone-steps", HealthKind.STEPS, 7000, "count", DAY_START, DAY_START + timedelta(hours=1)
    )
    await health.upload_samples(
        new_uow(), UploadHealthSamples(member, "healthkit", phone, (counted,), (), ""), POLICY
    )
    fitbit.set_day(user, DAY.isoformat(), steps=8000)
    await providers.receive_changes(new_uow(), changes, [day_change(user)])

    async def from_fitbit() -> bool:
        rollups = await day_rollups(new_uow, member, HealthKind.STEPS)
        return [(r.device_type, r.figures.total) for r in rollups] == [
            (DeviceType.FITNESS_BAND, 8000)
        ]

    await eventually(from_fitbit)  # Wearables before the phone by default: one count, not two.
    await health.update_priority(
        new_uow(), UpdateHealthPriority(member, (DeviceType.PHONE, DeviceType.FITNESS_BAND))
    )
    rollups = await day_rollups(new_uow, member, HealthKind.STEPS)
    assert [(r.device_type, r.figures.total) for r in rollups] == [(DeviceType.PHONE, 7000)]


async def test_a_rate_limit_retries_when_fitbit_says(
    fitbit: FitbitServer, new_uow: NewUow, configured: Providers
) -> None:
    _, user = await connect(fitbit, new_uow, configured)
    fitbit.fail_next(1, status=429)
    with pytest.raises(RetryLater) as later:
        await providers.apply_change(new_uow, configured, day_change(user), POLICY)
    assert later.value.delay_seconds == 37


async def test_an_expired_token_is_refreshed_and_the_day_read(
    fitbit: FitbitServer, new_uow: NewUow, configured: Providers, changes: JetStreamChangeQueue
) -> None:
    member, user = await connect(fitbit, new_uow, configured)
    fitbit.add_activity(user, startTime=f"{DAY.isoformat()}T06:00:00.000+03:00")
    fitbit.expire_access_tokens()
    await providers.receive_changes(new_uow(), changes, [day_change(user)])
    assert len(await eventually(partial(imported, new_uow, member))) == 1


async def test_changes_of_users_no_member_connected_are_not_queued(
    fitbit: FitbitServer, new_uow: NewUow, configured: Providers
) -> None:
    class Recording:
        def __init__(self) -> None:
            self.queued: list[ProviderChange] = []

        async def enqueue(self, change: ProviderChange) -> None:
            self.queued.append(change)

    recording = Recording()
    _, user = await connect(fitbit, new_uow, configured)
    stranger = day_change(fitbit.add_user())
    await providers.receive_changes(new_uow(), recording, [stranger, day_change(user)])
    assert [change.account_id for change in recording.queued] == [user]


async def test_withdrawing_access_at_fitbit_forgets_the_connection(
    fitbit: FitbitServer, new_uow: NewUow, configured: Providers, changes: JetStreamChangeQueue
) -> None:
    member, user = await connect(fitbit, new_uow, configured)
    revoked = replace(day_change(user), kind=ChangeKind.ACCESS_REVOKED, object_id=user)
    await providers.receive_changes(new_uow(), changes, [revoked])

    async def forgotten() -> bool:
        return await providers.list_connections(new_uow(), member, 0, 10) == []

    await eventually(forgotten)


async def test_disconnecting_ends_the_subscription_revokes_and_forgets_imports(
    fitbit: FitbitServer, new_uow: NewUow, configured: Providers, changes: JetStreamChangeQueue
) -> None:
    member, user = await connect(fitbit, new_uow, configured)
    fitbit.add_activity(user, startTime=f"{DAY.isoformat()}T06:00:00.000+03:00")
    await providers.receive_changes(new_uow(), changes, [day_change(user)])
    await eventually(partial(imported, new_uow, member))
    await providers.disconnect(new_uow, configured, member, Provider.FITBIT)
    assert fitbit.revoked[-1] == user
    assert not [key for key in fitbit.subscriptions if key[0] == user]
    assert await providers.list_connections(new_uow(), member, 0, 10) == []
    assert await imported(new_uow, member) == []
