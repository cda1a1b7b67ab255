"""Garmin connections and pushes against real Postgres and NATS and a local Garmin: a member
connects with PKCE (their Garmin user id and permissions read at once), pushed dailies and
activities are queued with their data on JetStream and kept by the worker — steps and resting
heart rate as health samples from a watch, activities as imported activities — matched to the
member by Garmin's user id; a member who narrows their permissions past activities, is
deregistered at Garmin, or disconnects leaves no connection behind."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import pytest_asyncio
from activity.support import consenting, make_months

from stack.garmin import GarminServer, running_garmin
from stride.activity.adapters.change_queue import JetStreamChangeQueue
from stride.activity.adapters.garmin import GarminClient, parse_push
from stride.activity.domain.health import DeviceType, HealthKind, Resolution, Rollup, RollupRange
from stride.activity.domain.providers import ImportedActivity, Provider
from stride.activity.service_layer import health, providers
from stride.activity.service_layer.commands import CompleteConnection, ListHealthRollups
from stride.activity.service_layer.ports import Providers
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.errors import InvalidArgument
from stride.platform.testing.probes import eventually

REDIRECT = "https://app.stride.example/connect/garmin"
# Yesterday at the member's Garmin (UTC+3).
DAY = (datetime.now(UTC) + timedelta(hours=3) - timedelta(days=1)).date()
DAY_START = datetime.combine(DAY, datetime.min.time(), UTC) - timedelta(hours=3)

NewUow = partial[ActivityUnitOfWork]
# Changes the webhooks queue are imported as they come.
pytestmark = pytest.mark.usefixtures("import_worker")


@pytest_asyncio.fixture(scope="module")
async def garmin() -> AsyncIterator[GarminServer]:
    async with running_garmin() as server:
        yield server


@pytest_asyncio.fixture(scope="module")
async def configured(garmin: GarminServer) -> AsyncIterator[Providers]:
    client = GarminClient(
        client_id=garmin.client_id,
        client_secret=garmin.client_secret,
        redirect_uri=REDIRECT,
        connect_base=garmin.base_url,
        auth_base=garmin.base_url,
        api_base=garmin.base_url,
    )
    yield {Provider.GARMIN: client}
    await client.close()


@pytest_asyncio.fixture(scope="module", autouse=True)
async def months_made(new_uow: partial[ActivityUnitOfWork]) -> None:
    await make_months(new_uow)


async def connect(
    garmin: GarminServer,
    new_uow: NewUow,
    configured: Providers,
    member: uuid.UUID | None = None,
    permissions: tuple[str, ...] = ("ACTIVITY_EXPORT", "HEALTH_EXPORT"),
) -> tuple[uuid.UUID, str]:
    member = member or uuid.uuid4()
    user = garmin.add_user(permissions)
    garmin.sign_in(user)
    uri, _ = await providers.start_connection(new_uow(), configured, member, Provider.GARMIN)
    async with aiohttp.ClientSession() as session, session.get(uri, allow_redirects=False) as reply:
        location = reply.headers["location"]
    back = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    command = CompleteConnection(member, Provider.GARMIN, back["code"], back["state"], "")
    connection = await providers.complete_connection(new_uow, configured, command)
    assert connection.account_id == user
    return member, user


async def pushed(new_uow: NewUow, changes: JetStreamChangeQueue, body: object) -> None:
    """What the push endpoint does once Garmin's call is verified."""
    found = parse_push(json.dumps(body).encode(), datetime.now(UTC))
    await providers.receive_changes(new_uow(), changes, found)


async def imported(new_uow: NewUow, member: uuid.UUID) -> list[ImportedActivity]:
    return await providers.list_imported(new_uow(), member, 0, 100)


async def day_rollups(new_uow: NewUow, member: uuid.UUID, kind: HealthKind) -> list[Rollup]:
    wanted = RollupRange(kind, Resolution.HOUR, DAY_START, DAY_START + timedelta(days=1))
    return await health.list_rollups(new_uow(), ListHealthRollups(member, wanted))


async def test_a_member_connects_and_their_pushed_day_and_activity_are_kept(
    garmin: GarminServer, new_uow: NewUow, configured: Providers, changes: JetStreamChangeQueue
) -> None:
    member, user = await connect(
        garmin, new_uow, configured, await consenting(new_uow, uuid.uuid4())
    )
    start = int((DAY_START + timedelta(hours=9)).timestamp())
    run = garmin.activity(user, start, activityName="Diplomatic Quarter 10K")
    daily = garmin.daily(user, DAY.isoformat(), steps=11234, restingHeartRateInBeatsPerMinute=54)
    await pushed(new_uow, changes, {"activities": [run]})
    await pushed(new_uow, changes, {"dailies": [daily]})
    [activity] = await eventually(partial(imported, new_uow, member))
    assert activity.activity_id == f"garmin-{run['activityId']}"
    assert activity.data.display_name == "Diplomatic Quarter 10K"
    [steps] = await eventually(partial(day_rollups, new_uow, member, HealthKind.STEPS))
    assert (steps.start_time, steps.figures.total, steps.device_type) == (
        DAY_START,
        11234,
        DeviceType.WATCH,
    )
    [resting] = await day_rollups(new_uow, member, HealthKind.RESTING_HEART_RATE)
    assert resting.figures.maximum == 54
    # A later daily of the same day replaces the steps; the day's activity stays.
    await pushed(new_uow, changes, {"dailies": [{**daily, "steps": 15000}]})

    async def replaced() -> bool:
        rollups = await day_rollups(new_uow, member, HealthKind.STEPS)
        return [r.figures.total for r in rollups] == [15000]

    await eventually(replaced)
    assert len(await imported(new_uow, member)) == 1


async def test_a_grant_without_activity_permission_is_deregistered_and_connects_nothing(
    garmin: GarminServer, new_uow: NewUow, configured: Providers
) -> None:
    with pytest.raises(InvalidArgument) as narrow:
        await connect(garmin, new_uow, configured, permissions=("HEALTH_EXPORT",))
    assert narrow.value.violations[0].field == "scope"
    assert len(garmin.deregistered) >= 1


async def test_pushes_of_users_no_member_connected_keep_nothing(
    garmin: GarminServer, new_uow: NewUow, configured: Providers, changes: JetStreamChangeQueue
) -> None:
    member, user = await connect(garmin, new_uow, configured)
    stranger = garmin.add_user()
    start = int((DAY_START + timedelta(hours=6)).timestamp())
    await pushed(new_uow, changes, {"activities": [garmin.activity(stranger, start)]})
    ours = garmin.activity(user, start)
    await pushed(new_uow, changes, {"activities": [ours]})
    [activity] = await eventually(partial(imported, new_uow, member))
    assert activity.data.external_id == str(ours["activityId"])


async def test_permissions_narrowed_past_activities_forget_the_connection(
    garmin: GarminServer, new_uow: NewUow, configured: Providers, changes: JetStreamChangeQueue
) -> None:
    member, user = await connect(garmin, new_uow, configured)
    await pushed(
        new_uow,
        changes,
        {"userPermissionsChange": [{"userId": user, "permissions": ["ACTIVITY_EXPORT"]}]},
    )

    async def narrowed() -> bool:
        found = await providers.list_connections(new_uow(), member, 0, 10)
        return [c.scopes for c in found] == [("ACTIVITY_EXPORT",)]

    await eventually(narrowed)
    await pushed(
        new_uow,
        changes,
        {"userPermissionsChange": [{"userId": user, "permissions": ["HEALTH_EXPORT"]}]},
    )

    async def forgotten() -> bool:
        return await providers.list_connections(new_uow(), member, 0, 10) == []

    await eventually(forgotten)


async def test_a_deregistration_forgets_the_connection(
    garmin: GarminServer, new_uow: NewUow, configured: Providers, changes: JetStreamChangeQueue
) -> None:
    member, user = await connect(garmin, new_uow, configured)
    await pushed(new_uow, changes, {"deregistrations": [{"userId": user}]})

    async def forgotten() -> bool:
        return await providers.list_connections(new_uow(), member, 0, 10) == []

    await eventually(forgotten)


async def test_disconnecting_deregisters_at_garmin_and_forgets_imports(
    garmin: GarminServer, new_uow: NewUow, configured: Providers, changes: JetStreamChangeQueue
) -> None:
    member, user = await connect(garmin, new_uow, configured)
    start = int((DAY_START + timedelta(hours=7)).timestamp())
    await pushed(new_uow, changes, {"activities": [garmin.activity(user, start)]})
    await eventually(partial(imported, new_uow, member))
    await providers.disconnect(new_uow, configured, member, Provider.GARMIN)
    assert garmin.deregistered[-1] == user
    assert await providers.list_connections(new_uow(), member, 0, 10) == []
    assert await imported(new_uow, member) == []
