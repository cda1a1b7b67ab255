"""Credits held for bookings that were never made come back: Scheduling, in a process of its
own, is SIGKILLed after Billing held a member's credit and before it decided the booking, and
the member never retries. Billing's reconciler asks the restarted Scheduling (its internal
FindBookings RPC, with Billing's own key) which bookings exist, after a grace no booking
request outlives, and gives back the rest exactly once; a booking still being decided, its
credit held anew by the member's late retry, keeps its credit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import grpc
import pytest
import pytest_asyncio
from pydantic import SecretStr

from chaos.support import (
    DEADLINE,
    AccessTokens,
    ServiceProcess,
    Studio,
    answer,
    class_pack,
    clients,
    holding,
    lock_waiters,
    running_process,
    scalar,
    studio_with_a_class,
)
from e2e.support import (
    BILLING_SERVICE_KEY,
    SCHEDULING_DATA_KEYS,
    SCHEDULING_SERVICE_KEY,
    running_billing,
)
from stride.billing.adapters.scheduling_bookings import SchedulingBookings
from stride.billing.service_layer.reconciliation import HOLD_GRACE, reconcile_holds
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.gateway.catalog import SCHEDULING
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port
from stride.platform.service_credentials import (
    ServiceCredentials,
    ServiceKey,
    trusted_key_entry,
)
from stride.platform.testing.probes import eventually_equal
from stride.scheduling.v1 import scheduling_service_pb2 as scheduling_pb

CREDITS = 5


@dataclass(frozen=True)
class Platform:
    billing: RunningServer
    scheduling: ServiceProcess
    # reconcile_holds(clock=…) bound to the running services: how many holds it gave back.
    reconciler: Callable[..., Awaitable[int]]


@pytest_asyncio.fixture(scope="module")
async def platform(
    postgres_server_url: str,
    nats_url: str,
    event_prefix: str,
    access_tokens: AccessTokens,
    stripe_api_base: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Platform]:
    scheduling_port = free_port()  # Known before Billing starts: its reconciler asks it.
    scheduling_target = f"127.0.0.1:{scheduling_port}"
    async with running_billing(
        postgres_server_url,
        nats_url,
        event_prefix,
        access_tokens.jwks_url,
        stripe_api_base,
        scheduling_target=scheduling_target,
        service_key=SecretStr(BILLING_SERVICE_KEY),
    ) as billing, running_process(
        SCHEDULING,
        postgres_server_url,
        nats_url,
        event_prefix,
        access_tokens.jwks_url,
        tmp_path_factory.mktemp("logs"),
        grpc_port=str(scheduling_port),
        data_keys=SCHEDULING_DATA_KEYS,
        data_key_active="test1",
        billing_target=f"127.0.0.1:{billing.port}",
        service_key=SCHEDULING_SERVICE_KEY,
        trusted_service_keys=trusted_key_entry("billing", BILLING_SERVICE_KEY),
    ) as scheduling:
        engine = create_engine(billing.app.settings.database_url)
        bookings = SchedulingBookings(
            scheduling_target,
            ServiceCredentials("billing", ServiceKey.from_spec(BILLING_SERVICE_KEY)),
        )
        await bookings.start()
        new_uow = partial(BillingUnitOfWork, session_factory(engine))
        yield Platform(billing, scheduling, partial(reconcile_holds, new_uow, bookings))
        await bookings.stop()
        await engine.dispose()


async def credits_left(platform: Platform, member: str) -> int:
    return int(
        await scalar(
            platform.billing,
            "SELECT credits_remaining FROM entitlements WHERE member_id = CAST(:m AS uuid)",
            m=member,
        )
    )


async def hold_of(platform: Platform, booking: str) -> str:
    """A hold's state, and whether the reconciler found its booking."""
    return str(
        await scalar(
            platform.billing,
            "SELECT state || '/' || (verified_at IS NOT NULL) FROM holds WHERE booking = :b",
            b=booking,
        )
    )


def class_row_lock(platform: Platform, studio: Studio) -> AbstractAsyncContextManager[None]:
    """The class's row lock, under which Scheduling decides its bookings (ADR 0006): a
    booking request waits there after Billing held its credit."""
    return holding(
        platform.scheduling,
        "SELECT id FROM class_sessions WHERE id = CAST(:id AS uuid) FOR UPDATE",
        id=studio.class_session.rsplit("/", 1)[1],
    )


async def test_credits_of_bookings_never_made_come_back_once_and_others_stay(
    platform: Platform, access_tokens: AccessTokens
) -> None:
    async with clients({"billing": platform.billing, "scheduling": platform.scheduling}) as client:
        studio = await studio_with_a_class(client, access_tokens, spots=5)
        other = await studio_with_a_class(client, access_tokens, spots=5)  # A class booked.
        member = str(uuid.uuid4())
        await class_pack(client, access_tokens, member, CREDITS)
        as_member = access_tokens.metadata(member)
        crashed = scheduling_pb.CreateBookingRequest(
            parent=f"users/{member}",
            booking=scheduling_pb.Booking(class_session=studio.class_session),
            request_id="crashed",
        )

        async with class_row_lock(platform, studio):
            booking = asyncio.create_task(
                answer(client.scheduling.CreateBooking(crashed, metadata=as_member))
            )
            await eventually_equal(lambda: lock_waiters(platform.scheduling), 1)
            orphan = str(
                await scalar(
                    platform.billing,
                    "SELECT booking FROM holds WHERE member_id = CAST(:m AS uuid)",
                    m=member,
                )
            )
            platform.scheduling.kill()
            assert (await booking).code == grpc.StatusCode.UNAVAILABLE
        await platform.scheduling.start()

        booked = await client.scheduling.CreateBooking(
            scheduling_pb.CreateBookingRequest(
                parent=f"users/{member}",
                booking=scheduling_pb.Booking(class_session=other.class_session),
                request_id="a-real-booking",
            ),
            metadata=as_member,
            timeout=DEADLINE,
            wait_for_ready=True,
        )
        assert await credits_left(platform, member) == CREDITS - 2

        now = datetime.now(UTC)
        within_grace = await platform.reconciler(clock=lambda: now + HOLD_GRACE / 2)
        after_grace = await platform.reconciler(clock=lambda: now + HOLD_GRACE * 2)
        again = await platform.reconciler(clock=lambda: now + HOLD_GRACE * 3)
        assert (within_grace, after_grace, again) == (0, 1, 0)
        assert await credits_left(platform, member) == CREDITS - 1  # The real booking's stays.
        assert await hold_of(platform, orphan) == "released/false"
        assert await hold_of(platform, booked.name) == "held/true"

        # The member retries after all, long after the grace, and the retry is caught
        # deciding: Billing holds the credit anew and its grace starts over, so a reconciler
        # running meanwhile leaves it, though Scheduling has no such booking yet.
        async with class_row_lock(platform, studio):
            retry = asyncio.create_task(
                answer(client.scheduling.CreateBooking(crashed, metadata=as_member))
            )
            await eventually_equal(lambda: lock_waiters(platform.scheduling), 1)
            retried = datetime.now(UTC)
            assert await platform.reconciler(clock=lambda: retried + HOLD_GRACE / 2) == 0
            assert await hold_of(platform, orphan) == "held/false"
        made = await retry
        assert made.code == grpc.StatusCode.OK
        assert made.reply.name == orphan
        assert made.reply.state == scheduling_pb.Booking.STATE_CONFIRMED
        assert await platform.reconciler(clock=lambda: retried + HOLD_GRACE * 2) == 0
        assert await credits_left(platform, member) == CREDITS - 2
        assert await hold_of(platform, orphan) == "held/true"
