"""NATS killed (SIGKILL) in the middle of a booking rush, and of a campaign send, then restarted:
every event an outbox holds reaches its stream exactly once, every consumer's effect happens
exactly once (Notifications' class reminders and address book, Billing's credits given back),
counted in their databases, and every campaign push goes exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import nats
import pytest_asyncio

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
from stride.platform.events.envelope import stream_name
from stride.platform.grpc.server import RunningServer
from stride.platform.local.nats import EmbeddedNats
from stride.platform.testing.probes import eventually, eventually_equal
from stride.scheduling.v1 import scheduling_service_pb2 as scheduling_pb

PREFIX = "chaos"
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


async def stream_message_ids(nats_url: str, source: str) -> Counter[str]:
    """How many times each event id sits in the source's stream (Nats-Msg-Id)."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        stream = stream_name(PREFIX, source)
        total = (await js.stream_info(stream)).state.messages
        subscription = await js.pull_subscribe(f"{PREFIX}.{source}.>", stream=stream)
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
    in_stream = await stream_message_ids(embedded_nats.url, "scheduling")
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
