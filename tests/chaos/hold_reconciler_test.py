"""Credits held for bookings that were never made are given back: Billing's reconciler asks
the real Scheduling (its internal FindBookings RPC, with Billing's own key) which bookings
exist, after a grace no booking request outlives, and gives back the rest exactly once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest_asyncio
from pydantic import SecretStr

from chaos.support import (
    AccessTokens,
    Clients,
    Studio,
    class_pack,
    clients,
    scalar,
    studio_with_a_class,
)
from e2e.support import (
    BILLING_SERVICE_KEY,
    SCHEDULING_SERVICE_KEY,
    running_billing,
    running_scheduling,
)
from stride.billing.adapters.scheduling_bookings import SchedulingBookings
from stride.billing.service_layer.reconciliation import HOLD_GRACE, reconcile_holds
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.billing.v1 import billing_service_pb2 as billing_pb
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port
from stride.platform.service_credentials import (
    ServiceCredentials,
    ServiceKey,
    trusted_key_entry,
)
from stride.scheduling.v1 import scheduling_service_pb2 as scheduling_pb

CREDITS = 5


@dataclass(frozen=True)
class Platform:
    billing: RunningServer
    scheduling: RunningServer
    # reconcile_holds(clock=…) bound to the running services: how many holds it gave back.
    reconciler: Callable[..., Awaitable[int]]


@pytest_asyncio.fixture(scope="module")
async def platform(
    postgres_server_url: str,
    nats_url: str,
    event_prefix: str,
    access_tokens: AccessTokens,
    stripe_api_base: str,
) -> AsyncIterator[Platform]:
    scheduling_port = free_port()  # Known before Billing starts: its reconciler asks it.
    billing_key = ServiceKey.from_spec(BILLING_SERVICE_KEY)
    async with (
        running_billing(
            postgres_server_url,
            nats_url,
            event_prefix,
            access_tokens.jwks_url,
            stripe_api_base,
            scheduling_target=f"127.0.0.1:{scheduling_port}",
            service_key=SecretStr(BILLING_SERVICE_KEY),
        ) as billing,
        running_scheduling(
            postgres_server_url,
            nats_url,
            event_prefix,
            access_tokens.jwks_url,
            billing.port,
            grpc_port=scheduling_port,
            trusted_service_keys=trusted_key_entry("billing", BILLING_SERVICE_KEY),
        ) as scheduling,
    ):
        engine = create_engine(billing.app.settings.database_url)
        bookings = SchedulingBookings(
            f"127.0.0.1:{scheduling_port}", ServiceCredentials("billing", billing_key)
        )
        await bookings.start()
        new_uow = partial(BillingUnitOfWork, session_factory(engine))
        yield Platform(billing, scheduling, partial(reconcile_holds, new_uow, bookings))
        await bookings.stop()
        await engine.dispose()


async def hold_as_scheduling(client: Clients, member: str, booking: str, studio: Studio) -> None:
    """What Scheduling does before it decides a booking: hold the member's credit."""
    credentials = ServiceCredentials("scheduling", ServiceKey.from_spec(SCHEDULING_SERVICE_KEY))
    start = datetime.now(UTC) + timedelta(days=2)
    request = billing_pb.HoldCreditRequest(
        parent=f"users/{member}",
        hold=billing_pb.Hold(booking=booking, studio=studio.name),
    )
    request.hold.class_start_time.FromDatetime(start)
    await client.billing.HoldCredit(request, metadata=credentials.metadata("billing"))


async def credits_left(platform: Platform, member: str) -> int:
    return int(
        await scalar(
            platform.billing,
            "SELECT credits_remaining FROM entitlements WHERE member_id = CAST(:m AS uuid)",
            m=member,
        )
    )


async def test_credits_of_bookings_never_made_come_back_once_and_others_stay(
    platform: Platform, access_tokens: AccessTokens
) -> None:
    services = {"billing": platform.billing, "scheduling": platform.scheduling}
    async with clients(services) as client:
        studio = await studio_with_a_class(client, access_tokens, spots=5)
        member = str(uuid.uuid4())
        await class_pack(client, access_tokens, member, CREDITS)
        # The state Scheduling leaves when it dies between Billing's hold and its own commit.
        orphan = f"users/{member}/bookings/{uuid.uuid4()}"
        await hold_as_scheduling(client, member, orphan, studio)
        booked = await client.scheduling.CreateBooking(
            scheduling_pb.CreateBookingRequest(
                parent=f"users/{member}",
                booking=scheduling_pb.Booking(class_session=studio.class_session),
                request_id="a-real-booking",
            ),
            metadata=access_tokens.metadata(member),
        )
        assert await credits_left(platform, member) == CREDITS - 2

        now = datetime.now(UTC)
        within_grace = await platform.reconciler(clock=lambda: now + HOLD_GRACE / 2)
        after_grace = await platform.reconciler(clock=lambda: now + HOLD_GRACE * 2)
        again = await platform.reconciler(clock=lambda: now + HOLD_GRACE * 3)
        assert (within_grace, after_grace, again) == (0, 1, 0)
        assert await credits_left(platform, member) == CREDITS - 1  # The real booking's stays.
        states = {
            booking: await scalar(
                platform.billing,
                "SELECT state || '/' || (verified_at IS NOT NULL) FROM holds WHERE booking = :b",
                b=booking,
            )
            for booking in (orphan, booked.name)
        }
        assert states == {orphan: "released/false", booked.name: "held/true"}

        # The member retries the booking that was never made: the credit is held anew, and the
        # grace starts over, so a reconciler running meanwhile leaves it alone.
        await hold_as_scheduling(client, member, orphan, studio)
        retried = datetime.now(UTC)
        assert await platform.reconciler(clock=lambda: retried + HOLD_GRACE / 2) == 0
        assert await credits_left(platform, member) == CREDITS - 2
