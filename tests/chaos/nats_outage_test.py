"""NATS killed (SIGKILL) in the middle of a booking rush, and of a campaign send, then restarted:
every event an outbox holds reaches its stream exactly once, every consumer's effect happens
exactly once (Notifications' class reminders and address book, Billing's credits given back),
counted in their databases, and every campaign push goes exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import nats
import pytest
import pytest_asyncio
from google.protobuf import field_mask_pb2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chaos.support import (
    AccessTokens,
    Clients,
    class_pack,
    clients,
    members,
    running_services,
    scalar,
    studio_with_a_class,
)
from e2e.support import running_notifications
from stack.fcm import PROJECT_ID, FcmServer, running_fcm
from stride.identity.events.v1.events_pb2 import UserRegistered
from stride.notifications.v1 import notifications_service_pb2 as notifications_pb
from stride.notifications.v1 import notifications_service_pb2_grpc as notifications_grpc
from stride.platform.db.engine import create_engine, drop_database, ensure_database, session_factory
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.db.uow import UnitOfWork
from stride.platform.events.envelope import stream_name
from stride.platform.events.outbox import OutboxRelay
from stride.platform.grpc.server import RunningServer
from stride.platform.local.nats import EmbeddedNats
from stride.platform.testing.probes import eventually, eventually_equal
from stride.scheduling.v1 import scheduling_service_pb2 as scheduling_pb

# Each case's services on subjects of their own: two Notifications on one prefix would share
# its durable consumers and split the events between their databases.
PREFIX, CAMPAIGN_PREFIX = "chaos", "campaign"
WAVE = 20  # Members booking at once, in each of three waves.
SPOTS = 40  # The first two waves get spots, the third the waitlist.
WITHIN = 90.0  # NATS restarts, clients reconnect and the relay backs off: a generous bound.


@pytest_asyncio.fixture(scope="module")
async def services(
    postgres_server_url: str,
    embedded_nats: EmbeddedNats,
    access_tokens: AccessTokens,
    stripe_api_base: str,
) -> AsyncIterator[dict[str, RunningServer]]:
    async with running_services(
        postgres_server_url, embedded_nats.url, PREFIX, access_tokens.jwks_url, stripe_api_base
    ) as running:
        yield running


async def book_at_once(
    client: Clients, tokens: AccessTokens, class_session: str, who: list[str]
) -> list[scheduling_pb.Booking]:
    async def book(member: str) -> scheduling_pb.Booking:
        booked: scheduling_pb.Booking = await client.scheduling.CreateBooking(
            scheduling_pb.CreateBookingRequest(
                parent=f"users/{member}",
                booking=scheduling_pb.Booking(class_session=class_session),
                request_id=f"rush-{member}",
            ),
            metadata=tokens.metadata(member),
        )
        return booked

    return list(await asyncio.gather(*(book(member) for member in who)))


async def stream_message_ids(nats_url: str, prefix: str, source: str) -> Counter[str]:
    """How many times each event id sits in the source's stream (Nats-Msg-Id)."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        stream = stream_name(prefix, source)
        total = (await js.stream_info(stream)).state.messages
        subscription = await js.pull_subscribe(f"{prefix}.{source}.>", stream=stream)
        seen: Counter[str] = Counter()
        while sum(seen.values()) < total:
            for message in await subscription.fetch(
                min(100, total - sum(seen.values())), timeout=5
            ):
                seen[(message.headers or {}).get("Nats-Msg-Id", "")] += 1
        await subscription.unsubscribe()
        return seen
    finally:
        await connection.close()


async def test_nats_killed_during_a_booking_rush_loses_and_doubles_nothing(
    services: dict[str, RunningServer], embedded_nats: EmbeddedNats, access_tokens: AccessTokens
) -> None:
    scheduling, billing, notifications = (
        services["scheduling"],
        services["billing"],
        services["notifications"],
    )
    async with clients(services) as client:
        studio = await studio_with_a_class(client, access_tokens, SPOTS)
        waves = [list(members(WAVE)) for _ in range(3)]
        for member in (m for wave in waves for m in wave):
            await class_pack(client, access_tokens, member, credits=5)

        first = await book_at_once(client, access_tokens, studio.class_session, waves[0])
        embedded_nats.kill()
        second = await book_at_once(client, access_tokens, studio.class_session, waves[1])
        # Half of the first wave cancels while NATS is down: Billing must give each credit back.
        cancelled = first[: WAVE // 2]
        for booking in cancelled:
            member = booking.name.split("/")[1]
            await client.scheduling.CancelBooking(
                scheduling_pb.CancelBookingRequest(name=booking.name),
                metadata=access_tokens.metadata(member),
            )
        unpublished = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        assert await scalar(scheduling, unpublished) > 0  # Held back, not lost.
        embedded_nats.start()
        third = await book_at_once(client, access_tokens, studio.class_session, waves[2])

    states = Counter(booking.state for booking in (*first, *second, *third))
    # The spots the cancellations freed went to the third wave; the rest of it waits.
    assert states[scheduling_pb.Booking.STATE_CONFIRMED] == SPOTS + len(cancelled)
    assert states[scheduling_pb.Booking.STATE_WAITLISTED] == 3 * WAVE - SPOTS - len(cancelled)
    await eventually_equal(lambda: scalar(scheduling, unpublished), 0, within=WITHIN)

    # The stream holds each outbox event exactly once.
    outbox_ids = {
        str(row) for row in await scalar(scheduling, "SELECT array_agg(id::text) FROM outbox") or []
    }
    in_stream = await stream_message_ids(embedded_nats.url, PREFIX, "scheduling")
    assert set(in_stream) == outbox_ids
    assert set(in_stream.values()) == {1}

    # Notifications: one reminder per booking that was confirmed, the cancelled ones cancelled.
    confirmed_events = await scalar(
        scheduling,
        "SELECT count(*) FROM outbox WHERE event_type = 'scheduling.booking.confirmed.v1'",
    )
    await eventually_equal(
        lambda: scalar(
            notifications,
            "SELECT count(*) FROM inbox WHERE consumer LIKE '%booking-confirmed%'",
        ),
        confirmed_events,
        within=WITHIN,
    )
    reminders = await scalar(notifications, "SELECT count(*) FROM reminders")
    assert reminders == confirmed_events

    # Billing: each cancellation gave exactly one credit back, once.
    await eventually_equal(
        lambda: scalar(billing, "SELECT count(*) FROM holds WHERE state = 'released'"),
        len(cancelled),
        within=WITHIN,
    )
    for booking in cancelled:
        member = booking.name.split("/")[1]
        remaining = await scalar(
            billing,
            "SELECT credits_remaining FROM entitlements WHERE member_id = CAST(:member AS uuid)",
            member=member,
        )
        assert remaining == 5
    held = await scalar(billing, "SELECT count(*) FROM holds WHERE state = 'held'")
    assert held == 3 * WAVE - len(cancelled)
    await eventually(
        lambda: scalar(
            billing,
            "SELECT count(*) = :n FROM inbox WHERE consumer = 'billing-release-on-cancel'",
            n=len(cancelled),
        )
    )


@dataclass
class IdentityOutbox:
    """Identity's side of its events: an outbox on a database of its own, relayed to NATS."""

    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay

    async def registered(self, user: str) -> None:
        uow = UnitOfWork(self.sessions, "identity")
        async with uow:
            uow.publish(
                "identity.user.registered.v1",
                subject=f"users/{user}",
                payload=UserRegistered(
                    user=f"users/{user}",
                    email=f"{user}@example.com",
                    language_code="ar",
                    time_zone="Asia/Riyadh",
                ),
            )
            await uow.commit()

    async def count(self, query: str) -> int:
        async with self.sessions() as session:
            return int((await session.execute(text(query))).scalar_one())


@pytest_asyncio.fixture(scope="module")
async def identity_outbox(
    postgres_server_url: str, embedded_nats: EmbeddedNats
) -> AsyncIterator[IdentityOutbox]:
    name = f"t_identity_{uuid.uuid4().hex[:8]}"
    url = await ensure_database(postgres_server_url, name)
    await run_migrations(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    relay = OutboxRelay(
        sessions, nats_url=embedded_nats.url, prefix=CAMPAIGN_PREFIX, source="identity"
    )
    await relay.start()
    yield IdentityOutbox(sessions, relay)
    await relay.stop()
    await engine.dispose()
    await drop_database(postgres_server_url, name)


@pytest_asyncio.fixture(scope="module")
async def fcm() -> AsyncIterator[FcmServer]:
    async with running_fcm() as server:
        yield server


@pytest_asyncio.fixture(scope="module")
async def pushing_notifications(
    postgres_server_url: str,
    embedded_nats: EmbeddedNats,
    access_tokens: AccessTokens,
    fcm: FcmServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningServer]:
    key_file = tmp_path_factory.mktemp("fcm") / "service-account.json"
    key_file.write_text(fcm.key_json)
    async with running_notifications(
        postgres_server_url,
        embedded_nats.url,
        CAMPAIGN_PREFIX,
        access_tokens.jwks_url,
        fcm_project_id=PROJECT_ID,
        fcm_service_account_file=key_file,
        fcm_api_base=fcm.api_base,
        send_every_seconds=0.1,
    ) as running:
        yield running


AUDIENCE = 60
LATECOMERS = 20  # Sign up while NATS is down.


async def test_nats_killed_during_a_campaign_send_loses_and_doubles_nothing(
    pushing_notifications: RunningServer,
    identity_outbox: IdentityOutbox,
    embedded_nats: EmbeddedNats,
    access_tokens: AccessTokens,
    fcm: FcmServer,
) -> None:
    notifications = pushing_notifications
    audience = list(members(AUDIENCE))
    for member in audience:
        await identity_outbox.registered(member)
    await eventually_equal(
        lambda: scalar(notifications, "SELECT count(*) FROM recipients"), AUDIENCE, within=WITHIN
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{notifications.port}") as channel:
        stub: Any = notifications_grpc.NotificationsServiceStub(channel)
        for member in audience:
            as_member = access_tokens.metadata(member)
            await stub.RegisterDevice(
                notifications_pb.RegisterDeviceRequest(
                    parent=f"users/{member}",
                    device=notifications_pb.Device(
                        token=f"fcm-{member}", platform=notifications_pb.Device.PLATFORM_ANDROID
                    ),
                ),
                metadata=as_member,
            )
            await stub.UpdateNotificationPreferences(
                notifications_pb.UpdateNotificationPreferencesRequest(
                    preferences=notifications_pb.NotificationPreferences(
                        name=f"users/{member}/notificationPreferences", marketing_push=True
                    ),
                    update_mask=field_mask_pb2.FieldMask(paths=["marketing_push"]),
                ),
                metadata=as_member,
            )
        offer = [
            notifications_pb.LocalizedMessage(language_code="ar", title="عرض", body="خصم"),
            notifications_pb.LocalizedMessage(language_code="en", title="Offer", body="Off"),
        ]
        campaign = await stub.CreateCampaign(
            notifications_pb.CreateCampaignRequest(
                campaign=notifications_pb.Campaign(
                    display_name="Chaos",
                    variants=[
                        notifications_pb.CampaignVariant(key="a", weight=100, messages=offer)
                    ],
                    per_second=20,  # Three seconds of pushes: NATS dies in the middle.
                )
            ),
            metadata=access_tokens.metadata("chaos-admin", "admin"),
        )

        def pushed() -> int:
            return sum(1 for message in fcm.messages if message["token"].startswith("fcm-"))

        async def pushed_at_least(count: int) -> bool:
            return pushed() >= count

        await eventually(lambda: pushed_at_least(AUDIENCE // 4), within=WITHIN)
        embedded_nats.kill()
        latecomers = list(members(LATECOMERS))
        for member in latecomers:
            await identity_outbox.registered(member)
        # Sending needs no NATS: pushes keep going while it is down.
        await eventually(lambda: pushed_at_least(AUDIENCE * 3 // 4), within=WITHIN)
        embedded_nats.start()

        await eventually(lambda: pushed_at_least(AUDIENCE), within=WITHIN)
        unpublished = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        await eventually_equal(lambda: identity_outbox.count(unpublished), 0, within=WITHIN)
        await eventually_equal(
            lambda: scalar(notifications, "SELECT count(*) FROM recipients"),
            AUDIENCE + LATECOMERS,
            within=WITHIN,
        )
        figures = await stub.GetCampaign(
            notifications_pb.GetCampaignRequest(name=campaign.name),
            metadata=access_tokens.metadata("chaos-admin", "admin"),
        )

    per_token = Counter(m["token"] for m in fcm.messages if m["token"].startswith("fcm-"))
    assert per_token == Counter({f"fcm-{member}": 1 for member in audience})
    (variant,) = figures.variants
    sent = variant.statistics
    assert (sent.recipients, sent.pushes_sent, sent.pushes_failed) == (
        AUDIENCE,
        AUDIENCE,
        0,
    )
    events = await identity_outbox.count("SELECT count(*) FROM outbox")
    consumed = await scalar(
        notifications,
        "SELECT count(*) FROM inbox WHERE consumer = 'notifications-identity-user-registered'",
    )
    assert consumed == events == AUDIENCE + LATECOMERS
    outbox_ids = {str(row) for row in await identity_outbox_ids(identity_outbox)}
    in_stream = await stream_message_ids(embedded_nats.url, CAMPAIGN_PREFIX, "identity")
    assert set(in_stream) == outbox_ids
    assert set(in_stream.values()) == {1}


async def identity_outbox_ids(outbox: IdentityOutbox) -> list[str]:
    async with outbox.sessions() as session:
        return list((await session.execute(text("SELECT id::text FROM outbox"))).scalars())
