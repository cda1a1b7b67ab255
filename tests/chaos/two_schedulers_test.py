"""Two Scheduling processes on one database (two replicas) deciding bookings for the same class
at once, each in batches of its own arrivals (ADR 0006): the class's row lock orders their
batches, so the class never holds more than its spots, every member holds one booking, the
waitlist is 1…n with no gap or repeat, the class's counts match its rows, each member's retry
through the other process, racing the first attempt, gets the same answer, and each member
holds exactly one credit."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from chaos.support import (
    DEADLINE,
    AccessTokens,
    Clients,
    ServiceProcess,
    class_pack,
    clients,
    members,
    rows,
    scalar,
    scheduling_process,
    studio_with_a_class,
)
from stride.platform.grpc.server import RunningServer
from stride.scheduling.v1 import scheduling_service_pb2 as scheduling_pb

SPOTS, MEMBERS = 10, 120


@pytest_asyncio.fixture(scope="module")
async def schedulers(
    postgres_server_url: str,
    nats_url: str,
    event_prefix: str,
    access_tokens: AccessTokens,
    billing: RunningServer,
    log_dir: Path,
) -> AsyncIterator[tuple[ServiceProcess, ServiceProcess]]:
    async with scheduling_process(
        postgres_server_url, nats_url, event_prefix, access_tokens, billing, log_dir
    ) as first:
        second = first.replica("scheduling-2")
        await second.start()
        try:
            yield first, second
        finally:
            await second.stop()


async def book(
    client: Clients, tokens: AccessTokens, member: str, class_session: str
) -> scheduling_pb.Booking:
    """The member's one booking request for the class, with the same request id every time."""
    booking: scheduling_pb.Booking = await client.scheduling.CreateBooking(
        scheduling_pb.CreateBookingRequest(
            parent=f"users/{member}",
            booking=scheduling_pb.Booking(class_session=class_session),
            request_id=f"rush-{member}",
        ),
        metadata=tokens.metadata(member),
        timeout=DEADLINE,
    )
    return booking


async def test_two_processes_deciding_one_class_keep_every_rule(
    schedulers: tuple[ServiceProcess, ServiceProcess],
    billing: RunningServer,
    access_tokens: AccessTokens,
) -> None:
    first, second = schedulers
    async with (
        clients({"scheduling": first, "billing": billing}) as one,
        clients({"scheduling": second, "billing": billing}) as two,
    ):
        studio = await studio_with_a_class(one, access_tokens, spots=SPOTS)
        crowd = list(members(MEMBERS))
        await asyncio.gather(*(class_pack(one, access_tokens, m, credits=2) for m in crowd))
        # Half the crowd reaches one process, half the other, all at once; and each member's
        # app, not hearing back, retries through the other process while the first is on its
        # way (both hold the same credit, one decides, the other finds its answer).
        attempts = await asyncio.gather(
            *(
                book(client, access_tokens, member, studio.class_session)
                for i, member in enumerate(crowd)
                for client in ((one, two) if i % 2 else (two, one))
            )
        )
        booked, retried = attempts[0::2], attempts[1::2]
    assert retried == booked
    states = Counter(booking.state for booking in booked)
    assert states == {
        scheduling_pb.Booking.STATE_CONFIRMED: SPOTS,
        scheduling_pb.Booking.STATE_WAITLISTED: MEMBERS - SPOTS,
    }
    positions = sorted(b.waitlist_position for b in booked if b.waitlist_position)
    assert positions == list(range(1, MEMBERS - SPOTS + 1))

    session_id = uuid.UUID(studio.class_session.rsplit("/", 1)[1])
    per_member = await rows(
        first,
        "SELECT member_id, count(*) AS bookings FROM bookings WHERE session_id = :id"
        " GROUP BY member_id",
        id=session_id,
    )
    assert sorted(str(row.member_id) for row in per_member) == sorted(crowd)
    assert {row.bookings for row in per_member} == {1}
    counts = await rows(
        first,
        "SELECT confirmed_count, waitlist_count FROM class_sessions WHERE id = :id",
        id=session_id,
    )
    assert [tuple(row) for row in counts] == [(SPOTS, MEMBERS - SPOTS)]
    # Every booking, confirmed or waiting, holds one credit of the member's two.
    left = await scalar(
        billing,
        "SELECT count(*) FROM entitlements WHERE member_id = ANY(CAST(:crowd AS uuid[]))"
        " AND credits_remaining = 1",
        crowd=crowd,
    )
    assert left == MEMBERS
