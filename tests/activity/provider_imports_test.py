"""Strava connections and imports against real Postgres and NATS and a local Strava: a member
connects once per state, tokens are sealed at rest and refreshed by one caller at a time,
webhooks queue their work on JetStream and the worker imports each activity once (retried with
backoff, dead-lettered after the last attempt), follows edits and deletions, and a member who
disconnects or withdraws access leaves nothing behind."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import nats
import pytest
import pytest_asyncio
from activity.support import MAX_DELIVERIES, POLICY
from sqlalchemy import text
from sqlmodel import select

from stack.strava import StravaServer, running_strava
from stride.activity.adapters.change_queue import QUEUE_NAME, JetStreamChangeQueue
from stride.activity.adapters.strava import StravaClient
from stride.activity.domain.providers import (
    ChangeKind,
    ConnectionState,
    Provider,
    ProviderChange,
    WebhookNotice,
)
from stride.activity.entrypoints.import_worker import import_changes
from stride.activity.events.v1.events_pb2 import SessionCompleted
from stride.activity.service_layer import providers
from stride.activity.service_layer.commands import CompleteConnection, VerifyWebhook
from stride.activity.service_layer.event_types import SESSION_COMPLETED
from stride.activity.service_layer.ports import Providers
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.errors import (
    InvalidArgument,
    Unauthenticated,
    Unavailable,
)
from stride.platform.events.consumer import RetryLater, dead_letter_subject
from stride.platform.events.envelope import stream_name
from stride.platform.events.outbox import OutboxRecord
from stride.platform.events.work_queue import (
    WorkQueue,
    WorkQueuePublisher,
    WorkQueueWorker,
)
from stride.platform.local.ports import free_port
from stride.platform.testing.probes import eventually

REDIRECT = "https://app.stride.example/connect/strava"
SUBSCRIPTION = "120475"

NewUow = partial[ActivityUnitOfWork]


@pytest_asyncio.fixture(scope="module")
async def strava() -> AsyncIterator[StravaServer]:
    async with running_strava() as server:
        yield server


@pytest_asyncio.fixture(scope="module")
async def configured(strava: StravaServer) -> AsyncIterator[Providers]:
    client = StravaClient(
        client_id=strava.client_id,
        client_secret=strava.client_secret,
        redirect_uri=REDIRECT,
        oauth_base=strava.oauth_base,
        api_base=strava.api_base,
    )
    yield {Provider.STRAVA: client}
    await client.close()


async def redirect_of(uri: str) -> dict[str, str]:
    """The member's browser at Strava's authorize page: where it is sent back, with what."""
    async with aiohttp.ClientSession() as session, session.get(uri, allow_redirects=False) as reply:
        location = reply.headers["location"]
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def connect(
    strava: StravaServer, new_uow: NewUow, configured: Providers, member: uuid.UUID | None = None
) -> tuple[uuid.UUID, int]:
    member = member or uuid.uuid4()
    athlete = strava.add_athlete()
    strava.sign_in(athlete)
    uri, _ = await providers.start_connection(new_uow(), configured, member, Provider.STRAVA)
    back = await redirect_of(uri)
    command = CompleteConnection(
        member, Provider.STRAVA, back["code"], back["state"], back["scope"]
    )
    connection = await providers.complete_connection(new_uow, configured, command)
    assert connection.account_id == str(athlete)
    return member, athlete


def notice(athlete: int, activity: int, kind: str = "create", **overrides: Any) -> WebhookNotice:
    kinds = {
        "create": ChangeKind.CREATED,
        "update": ChangeKind.UPDATED,
        "delete": ChangeKind.DELETED,
    }
    change = ProviderChange(
        Provider.STRAVA, str(athlete), kinds[kind], str(activity), datetime.now(UTC)
    )
    return WebhookNotice(SUBSCRIPTION, replace(change, **overrides))


async def imported(new_uow: NewUow, member: uuid.UUID) -> list[Any]:
    return await providers.list_imported(new_uow(), member, 0, 100)


async def announced(new_uow: NewUow, resource_name: str) -> list[SessionCompleted]:
    async with new_uow() as uow:
        rows = await uow.session.execute(
            select(OutboxRecord).where(OutboxRecord.event_type == SESSION_COMPLETED)
        )
        found = []
        for row in rows.scalars():
            payload = SessionCompleted()
            Envelope.FromString(row.payload).data.Unpack(payload)
            if payload.imported_activity == resource_name:
                found.append(payload)
        return found


async def test_a_member_connects_once_per_state_and_tokens_are_sealed_at_rest(
    strava: StravaServer, new_uow: NewUow, configured: Providers
) -> None:
    member = uuid.uuid4()
    athlete = strava.add_athlete()
    strava.sign_in(athlete)
    uri, expire_time = await providers.start_connection(
        new_uow(), configured, member, Provider.STRAVA
    )
    assert expire_time > datetime.now(UTC)
    back = await redirect_of(uri)
    someone_else = CompleteConnection(
        uuid.uuid4(), Provider.STRAVA, back["code"], back["state"], back["scope"]
    )
    with pytest.raises(InvalidArgument):  # Another member cannot use the state.
        await providers.complete_connection(new_uow, configured, someone_else)
    command = replace(someone_else, member_id=member)
    connection = await providers.complete_connection(new_uow, configured, command)
    assert connection.state is ConnectionState.CONNECTED
    assert "activity:read_all" in connection.scopes
    with pytest.raises(InvalidArgument):  # A state completes once.
        await providers.complete_connection(new_uow, configured, command)
    # Starting again replaces what the member started before: one pending state each.
    first, _ = await providers.start_connection(new_uow(), configured, member, Provider.STRAVA)
    second, _ = await providers.start_connection(new_uow(), configured, member, Provider.STRAVA)
    stale, latest = await redirect_of(first), await redirect_of(second)
    with pytest.raises(InvalidArgument):
        await providers.complete_connection(
            new_uow, configured, replace(command, code=stale["code"], state=stale["state"])
        )
    again = replace(command, code=latest["code"], state=latest["state"])
    assert (await providers.complete_connection(new_uow, configured, again)).account_id == str(
        athlete
    )
    token = strava.tokens_of(athlete)[0]
    async with new_uow() as uow:
        dump = await uow.session.execute(
            text("SELECT row_to_json(c)::text FROM provider_connections c")
        )
        stored = " ".join(dump.scalars())
    assert token not in stored
    assert str(athlete) in stored


async def test_an_authorization_without_activity_access_or_a_bad_code_connects_nothing(
    strava: StravaServer, new_uow: NewUow, configured: Providers
) -> None:
    member = uuid.uuid4()
    strava.sign_in(strava.add_athlete())
    uri, _ = await providers.start_connection(new_uow(), configured, member, Provider.STRAVA)
    back = await redirect_of(uri)
    command = CompleteConnection(member, Provider.STRAVA, back["code"], back["state"], "read")
    with pytest.raises(InvalidArgument) as narrow:
        await providers.complete_connection(new_uow, configured, command)
    assert narrow.value.violations[0].field == "scope"
    uri, _ = await providers.start_connection(new_uow(), configured, member, Provider.STRAVA)
    back = await redirect_of(uri)
    command = CompleteConnection(member, Provider.STRAVA, "nope", back["state"], back["scope"])
    with pytest.raises(InvalidArgument) as bad_code:
        await providers.complete_connection(new_uow, configured, command)
    assert bad_code.value.violations[0].field == "code"
    assert await providers.list_connections(new_uow(), member, 0, 10) == []


async def test_concurrent_callers_refresh_an_expiring_token_once(
    strava: StravaServer, new_uow: NewUow, configured: Providers
) -> None:
    strava.token_lifetime_seconds = 60  # Within the refresh margin from the start.
    try:
        member, athlete = await connect(strava, new_uow, configured)
    finally:
        strava.token_lifetime_seconds = 21600
    before = strava.refreshes
    client = configured[Provider.STRAVA]
    tokens = await asyncio.gather(
        *(providers.access_token(new_uow, client, member) for _ in range(5))
    )
    assert strava.refreshes == before + 1
    assert len(set(tokens)) == 1
    assert tokens[0] in strava.tokens_of(athlete)


async def test_the_handshake_answers_only_our_verify_token() -> None:
    ours = VerifyWebhook("subscribe", "15f7d1a91c1f40", "our-token")
    assert providers.verify_webhook(ours, "our-token") == "15f7d1a91c1f40"
    for wrong in (replace(ours, verify_token="guess"), replace(ours, mode="unsubscribe")):
        with pytest.raises(Unauthenticated):
            providers.verify_webhook(wrong, "our-token")
    with pytest.raises(Unauthenticated):  # Unconfigured: nobody passes.
        providers.verify_webhook(replace(ours, verify_token=""), "")


async def test_a_webhook_is_imported_once_however_often_it_comes(
    strava: StravaServer,
    new_uow: NewUow,
    configured: Providers,
    changes: JetStreamChangeQueue,
    import_worker: WorkQueueWorker,
) -> None:
    member, athlete = await connect(strava, new_uow, configured)
    run = strava.add_activity(athlete, name="Corniche 10K")
    told = notice(athlete, run["id"])
    await providers.receive_webhook(new_uow(), changes, told, SUBSCRIPTION)
    await providers.receive_webhook(new_uow(), changes, told, SUBSCRIPTION)  # Strava's retry.
    found = await eventually(partial(imported, new_uow, member))
    assert [a.data.display_name for a in found] == ["Corniche 10K"]
    # Told again later (past the queue's duplicate window): read again, still one activity and
    # one event.
    assert told.change is not None
    later = replace(told.change, event_time=told.change.event_time + timedelta(seconds=5))
    await providers.receive_webhook(new_uow(), changes, replace(told, change=later), SUBSCRIPTION)
    reads = strava.activity_reads
    await eventually(lambda: _at_least(strava, reads + 1))
    assert len(await imported(new_uow, member)) == 1
    # The webhook only checks and queues: answered well within Strava's two seconds.
    took = []
    for _ in range(5):
        started = time.monotonic()
        await providers.receive_webhook(new_uow(), changes, told, SUBSCRIPTION)
        took.append(time.monotonic() - started)
    assert sorted(took)[2] < 0.2
    events = await announced(new_uow, found[0].resource_name)
    assert len(events) == 1
    assert (events[0].member, events[0].source, events[0].sport_type) == (
        f"users/{member}",
        "strava",
        "Run",
    )


async def _at_least(strava: StravaServer, reads: int) -> bool:
    return strava.activity_reads >= reads


async def test_edits_and_deletions_follow_strava(
    strava: StravaServer,
    new_uow: NewUow,
    configured: Providers,
    changes: JetStreamChangeQueue,
    import_worker: WorkQueueWorker,
) -> None:
    member, athlete = await connect(strava, new_uow, configured)
    ride = strava.add_activity(athlete, name="Ride", sport_type="Ride")
    await providers.receive_webhook(new_uow(), changes, notice(athlete, ride["id"]), SUBSCRIPTION)
    await eventually(partial(imported, new_uow, member))
    strava.update_activity(ride["id"], name="Desert loop")
    updated = notice(athlete, ride["id"], "update")
    await providers.receive_webhook(new_uow(), changes, updated, SUBSCRIPTION)

    async def renamed() -> bool:
        found = await imported(new_uow, member)
        return [a.data.display_name for a in found] == ["Desert loop"]

    await eventually(renamed)
    assert (
        len(await announced(new_uow, f"users/{member}/importedActivities/strava-{ride['id']}")) == 1
    )
    strava.delete_activity(ride["id"])
    deleted = notice(athlete, ride["id"], "delete")
    await providers.receive_webhook(new_uow(), changes, deleted, SUBSCRIPTION)

    async def gone() -> bool:
        return await imported(new_uow, member) == []

    await eventually(gone)


async def test_an_activity_strava_no_longer_lets_us_read_is_not_kept(
    strava: StravaServer,
    new_uow: NewUow,
    configured: Providers,
    changes: JetStreamChangeQueue,
    import_worker: WorkQueueWorker,
) -> None:
    member, athlete = await connect(strava, new_uow, configured)
    run = strava.add_activity(athlete)
    await providers.receive_webhook(new_uow(), changes, notice(athlete, run["id"]), SUBSCRIPTION)
    await eventually(partial(imported, new_uow, member))
    strava.delete_activity(run["id"])  # Made private, or gone: Strava answers 404 to us.
    hidden = notice(athlete, run["id"], "update")
    await providers.receive_webhook(new_uow(), changes, hidden, SUBSCRIPTION)

    async def gone() -> bool:
        return await imported(new_uow, member) == []

    await eventually(gone)


async def test_a_failing_read_is_retried_until_it_works(
    strava: StravaServer,
    new_uow: NewUow,
    configured: Providers,
    changes: JetStreamChangeQueue,
    import_worker: WorkQueueWorker,
) -> None:
    member, athlete = await connect(strava, new_uow, configured)
    run = strava.add_activity(athlete)
    strava.fail_next(MAX_DELIVERIES - 1, status=503)
    await providers.receive_webhook(new_uow(), changes, notice(athlete, run["id"]), SUBSCRIPTION)
    assert len(await eventually(partial(imported, new_uow, member))) == 1


async def test_an_expired_token_is_refreshed_and_the_read_done(
    strava: StravaServer,
    new_uow: NewUow,
    configured: Providers,
    changes: JetStreamChangeQueue,
    import_worker: WorkQueueWorker,
) -> None:
    member, athlete = await connect(strava, new_uow, configured)
    run = strava.add_activity(athlete)
    strava.expire_access_tokens()  # Strava refuses them though we think them good.
    await providers.receive_webhook(new_uow(), changes, notice(athlete, run["id"]), SUBSCRIPTION)
    assert len(await eventually(partial(imported, new_uow, member))) == 1


async def test_a_read_failing_every_time_is_dead_lettered(
    strava: StravaServer,
    new_uow: NewUow,
    configured: Providers,
    changes: JetStreamChangeQueue,
    import_worker: WorkQueueWorker,
    nats_url: str,
    event_prefix: str,
) -> None:
    member, athlete = await connect(strava, new_uow, configured)
    run = strava.add_activity(athlete)
    strava.fail_next(MAX_DELIVERIES, status=500)
    await providers.receive_webhook(new_uow(), changes, notice(athlete, run["id"]), SUBSCRIPTION)
    connection = await nats.connect(nats_url)
    try:
        subscription = await connection.jetstream().subscribe(
            dead_letter_subject(event_prefix, "activity-imports"),
            stream=stream_name(event_prefix, "deadletter"),
        )
        letter = await subscription.next_msg(timeout=20)
    finally:
        await connection.close()
    assert str(run["id"]).encode() in letter.data
    assert (letter.headers or {})["Stride-Error"] == "ProviderUnavailable"
    assert await imported(new_uow, member) == []


async def test_a_rate_limit_retries_when_the_window_resets(
    strava: StravaServer, new_uow: NewUow, configured: Providers
) -> None:
    _, athlete = await connect(strava, new_uow, configured)
    run = strava.add_activity(athlete)
    strava.fail_next(1, status=429)
    change = notice(athlete, run["id"]).change
    assert change is not None
    with pytest.raises(RetryLater) as later:
        await providers.apply_change(new_uow, configured, change, POLICY)
    assert 0 < later.value.delay_seconds <= 15 * 60


async def test_events_not_for_our_subscription_or_our_members_are_not_queued(
    strava: StravaServer, new_uow: NewUow, configured: Providers
) -> None:
    class Recording:
        def __init__(self) -> None:
            self.queued: list[ProviderChange] = []

        async def enqueue(self, change: ProviderChange) -> None:
            self.queued.append(change)

    recording = Recording()
    _, athlete = await connect(strava, new_uow, configured)
    forged = replace(notice(athlete, 1), subscription_id="999")
    with pytest.raises(Unauthenticated):
        await providers.receive_webhook(new_uow(), recording, forged, SUBSCRIPTION)
    with pytest.raises(Unauthenticated):  # No subscription configured: nothing is ours.
        await providers.receive_webhook(new_uow(), recording, notice(athlete, 1), "")
    stranger = notice(strava.add_athlete(), 1)
    await providers.receive_webhook(new_uow(), recording, stranger, SUBSCRIPTION)
    assert recording.queued == []


async def test_disconnecting_revokes_at_strava_and_forgets_tokens_and_imports(
    strava: StravaServer,
    new_uow: NewUow,
    configured: Providers,
    changes: JetStreamChangeQueue,
    import_worker: WorkQueueWorker,
) -> None:
    member, athlete = await connect(strava, new_uow, configured)
    run = strava.add_activity(athlete)
    await providers.receive_webhook(new_uow(), changes, notice(athlete, run["id"]), SUBSCRIPTION)
    await eventually(partial(imported, new_uow, member))
    await providers.disconnect(new_uow, configured, member, Provider.STRAVA)
    assert strava.deauthorized[-1] == athlete
    assert await providers.list_connections(new_uow(), member, 0, 10) == []
    assert await imported(new_uow, member) == []


async def test_a_disconnect_strava_cannot_hear_stays_pending_and_finishes_on_retry(
    strava: StravaServer, new_uow: NewUow, configured: Providers
) -> None:
    member, athlete = await connect(strava, new_uow, configured)
    unreachable = StravaClient(
        client_id=strava.client_id,
        client_secret=strava.client_secret,
        redirect_uri=REDIRECT,
        oauth_base="http://127.0.0.1:9/oauth",
        api_base=strava.api_base,
    )
    try:
        with pytest.raises(Unavailable):
            await providers.disconnect(
                new_uow, {Provider.STRAVA: unreachable}, member, Provider.STRAVA
            )
    finally:
        await unreachable.close()
    (pending,) = await providers.list_connections(new_uow(), member, 0, 10)
    assert pending.state is ConnectionState.DISCONNECTING
    await providers.disconnect(new_uow, configured, member, Provider.STRAVA)
    assert strava.deauthorized[-1] == athlete
    assert await providers.list_connections(new_uow(), member, 0, 10) == []


async def test_withdrawing_access_at_strava_forgets_the_member_s_connection(
    strava: StravaServer,
    new_uow: NewUow,
    configured: Providers,
    changes: JetStreamChangeQueue,
    import_worker: WorkQueueWorker,
) -> None:
    member, athlete = await connect(strava, new_uow, configured)
    revoked = WebhookNotice(
        SUBSCRIPTION,
        ProviderChange(
            Provider.STRAVA,
            str(athlete),
            ChangeKind.ACCESS_REVOKED,
            str(athlete),
            datetime.now(UTC) - timedelta(seconds=1),
        ),
    )
    await providers.receive_webhook(new_uow(), changes, revoked, SUBSCRIPTION)

    async def forgotten() -> bool:
        return await providers.list_connections(new_uow(), member, 0, 10) == []

    await eventually(forgotten)


async def test_a_webhook_while_the_queue_is_down_is_refused_for_strava_to_send_again(
    strava: StravaServer, new_uow: NewUow, configured: Providers, event_prefix: str
) -> None:
    _, athlete = await connect(strava, new_uow, configured)
    unreachable = WorkQueue(event_prefix, QUEUE_NAME)
    publisher = WorkQueuePublisher(unreachable, f"nats://127.0.0.1:{free_port()}")
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable):
            await providers.receive_webhook(
                new_uow(), JetStreamChangeQueue(publisher), notice(athlete, 1), SUBSCRIPTION
            )
    finally:
        await publisher.close()
    assert time.monotonic() - started < 2.0  # Within Strava's time to answer.


async def test_changes_queued_while_no_worker_runs_are_imported_when_one_starts(
    strava: StravaServer,
    new_uow: NewUow,
    configured: Providers,
    nats_url: str,
    event_prefix: str,
) -> None:
    member, athlete = await connect(strava, new_uow, configured)
    run = strava.add_activity(athlete)
    waiting = WorkQueue(event_prefix, "activity_imports_waiting", max_age_seconds=600)
    publisher = WorkQueuePublisher(waiting, nats_url)
    try:
        told = notice(athlete, run["id"])
        await providers.receive_webhook(
            new_uow(), JetStreamChangeQueue(publisher), told, SUBSCRIPTION
        )
    finally:
        await publisher.close()
    late = WorkQueueWorker(
        waiting,
        import_changes(new_uow, configured, POLICY),
        nats_url=nats_url,
        service="activity",
        durable_name="activity-imports-waiting",
    )
    await late.start()
    try:
        assert len(await eventually(partial(imported, new_uow, member))) == 1
    finally:
        await late.stop()
