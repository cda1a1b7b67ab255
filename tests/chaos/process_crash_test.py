"""A service process SIGKILLed in the middle of a request, then started again: the client's
call ends UNAVAILABLE, and its retry with the same request id has exactly one effect — one
booking and one credit held for CreateBooking; one charge and one entitlement for PurchasePlan,
once Stripe's webhook has settled what the dead attempt left (until then the retry is ABORTED,
ADR 0012). Each request is held mid-flight by a lock the test takes in the service's database,
so the crash lands at a known step: after Billing's hold and before the booking is decided;
after Stripe's charge and before the purchase is settled."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest_asyncio

from billing.stripe_support import (
    API_KEY,
    CARD_OK,
    WEBHOOK_SECRET,
    event_for,
    intents_of,
    tokenized_card,
)
from chaos.support import (
    DEADLINE,
    INVOICE_NUMBER_LOCK,
    AccessTokens,
    ServiceProcess,
    announced,
    answer,
    class_pack,
    clients,
    deliver,
    holding,
    lock_waiters,
    members,
    plan_for_sale,
    rows,
    running_process,
    scalar,
    scheduling_process,
    studio_with_a_class,
)
from stride.billing.domain.purchases import purchase_id
from stride.billing.service_layer.payments import PAYMENT_SUCCEEDED
from stride.billing.v1 import billing_service_pb2 as billing_pb
from stride.billing.v1 import billing_service_pb2_grpc as billing_grpc
from stride.gateway.catalog import BILLING
from stride.platform.grpc.server import RunningServer
from stride.platform.idempotency import fingerprint
from stride.platform.testing.probes import eventually_equal
from stride.scheduling.domain.model import booking_id
from stride.scheduling.v1 import scheduling_service_pb2 as scheduling_pb


@pytest_asyncio.fixture(scope="module")
async def scheduling(
    postgres_server_url: str,
    nats_url: str,
    event_prefix: str,
    access_tokens: AccessTokens,
    billing: RunningServer,
    log_dir: Path,
) -> AsyncIterator[ServiceProcess]:
    """Scheduling in a process of its own, holding credits with the Billing of this process."""
    async with scheduling_process(
        postgres_server_url, nats_url, event_prefix, access_tokens, billing, log_dir
    ) as process:
        yield process


@pytest_asyncio.fixture(scope="module")
async def billing_process(
    postgres_server_url: str,
    nats_url: str,
    event_prefix: str,
    access_tokens: AccessTokens,
    stripe_api_base: str,
    log_dir: Path,
) -> AsyncIterator[ServiceProcess]:
    """Billing in a process of its own, paying through localstripe."""
    async with running_process(
        BILLING,
        postgres_server_url,
        nats_url,
        event_prefix,
        access_tokens.jwks_url,
        log_dir,
        stripe_api_key=API_KEY,
        stripe_api_base=stripe_api_base,
        stripe_webhook_secret=WEBHOOK_SECRET,
    ) as process:
        yield process


async def test_scheduling_killed_between_the_hold_and_the_booking_books_once_on_the_retry(
    scheduling: ServiceProcess, billing: RunningServer, access_tokens: AccessTokens
) -> None:
    async with clients({"scheduling": scheduling, "billing": billing}) as client:
        studio = await studio_with_a_class(client, access_tokens, spots=5)
        (member,) = members(1)
        await class_pack(client, access_tokens, member, credits=5)
        request = scheduling_pb.CreateBookingRequest(
            parent=f"users/{member}",
            booking=scheduling_pb.Booking(class_session=studio.class_session),
            request_id="crash-1",
        )
        metadata = access_tokens.metadata(member)
        session_id = studio.class_session.rsplit("/", 1)[1]
        # The booking is decided under the class's row lock (ADR 0006): taken here first.
        async with holding(
            scheduling,
            "SELECT id FROM class_sessions WHERE id = CAST(:id AS uuid) FOR UPDATE",
            id=session_id,
        ):
            booking = asyncio.create_task(
                answer(
                    client.scheduling.CreateBooking(request, metadata=metadata, timeout=DEADLINE)
                )
            )
            await eventually_equal(lambda: lock_waiters(scheduling), 1)
            held = "SELECT count(*) FROM holds WHERE member_id = CAST(:member AS uuid)"
            assert await scalar(billing, held, member=member) == 1  # Billing holds the credit.
            scheduling.kill()
            assert (await booking).code == grpc.StatusCode.UNAVAILABLE
        await scheduling.start()

        retried = await client.scheduling.CreateBooking(
            request, metadata=metadata, timeout=DEADLINE, wait_for_ready=True
        )
        again = await client.scheduling.CreateBooking(request, metadata=metadata, timeout=DEADLINE)

    expected = booking_id(uuid.UUID(member), "crash-1", fingerprint(request))
    assert retried.name == f"users/{member}/bookings/{expected}"
    assert retried.state == scheduling_pb.Booking.STATE_CONFIRMED
    assert again == retried
    booked = await rows(
        scheduling, "SELECT id FROM bookings WHERE member_id = CAST(:member AS uuid)", member=member
    )
    assert [booking_row.id for booking_row in booked] == [expected]
    holds = await rows(
        billing,
        "SELECT id, state FROM holds WHERE member_id = CAST(:member AS uuid)",
        member=member,
    )
    assert [(hold.id, hold.state) for hold in holds] == [(expected, "held")]
    remaining = "SELECT credits_remaining FROM entitlements WHERE member_id = CAST(:member AS uuid)"
    assert await scalar(billing, remaining, member=member) == 4


async def test_billing_killed_between_the_charge_and_its_settling_charges_once(
    billing_process: ServiceProcess, access_tokens: AccessTokens, stripe_api_base: str
) -> None:
    (member,) = members(1)
    name = f"users/{member}/purchases/{purchase_id(uuid.UUID(member), 'crash-1')}"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{billing_process.port}") as channel:
        billing = billing_grpc.BillingServiceStub(channel)
        plan = await plan_for_sale(billing, access_tokens, billing_pb.Plan.KIND_CLASS_PACK)
        request = billing_pb.PurchasePlanRequest(
            parent=f"users/{member}",
            plan=plan,
            payment_method=tokenized_card(stripe_api_base, CARD_OK),
            request_id="crash-1",
        )
        metadata = access_tokens.metadata(member)
        async with holding(billing_process, INVOICE_NUMBER_LOCK):
            buying = asyncio.create_task(
                answer(billing.PurchasePlan(request, metadata=metadata, timeout=DEADLINE))
            )
            await eventually_equal(lambda: lock_waiters(billing_process), 1)
            (charged,) = intents_of(stripe_api_base, "purchase", name)
            billing_process.kill()
            assert (await buying).code == grpc.StatusCode.UNAVAILABLE
        await billing_process.start()

        # The charge is reserved, not settled: nothing was granted or invoiced.
        (reserved,) = await rows(
            billing_process,
            "SELECT state, payment_intent, attempt_until IS NOT NULL AS claimed FROM purchases",
        )
        assert (reserved.state, reserved.payment_intent, reserved.claimed) == (
            "processing",
            "",
            True,
        )
        assert await scalar(billing_process, "SELECT count(*) FROM entitlements") == 0
        # The dead attempt's claim stands until ATTEMPT_LEASE runs out (ADR 0012), so the retry
        # is told the request is in progress; Stripe's webhook settles it meanwhile.
        early = await answer(
            billing.PurchasePlan(request, metadata=metadata, timeout=DEADLINE, wait_for_ready=True)
        )
        assert (early.code, early.reason) == (grpc.StatusCode.ABORTED, "REQUEST_IN_PROGRESS")
        await deliver(billing, event_for(stripe_api_base, "payment_intent.succeeded", charged))
        paid = await billing.PurchasePlan(request, metadata=metadata, timeout=DEADLINE)
        entitlements = await billing.ListEntitlements(
            billing_pb.ListEntitlementsRequest(parent=f"users/{member}"), metadata=metadata
        )

    assert (paid.name, paid.state) == (name, billing_pb.Purchase.STATE_SUCCEEDED)
    assert intents_of(stripe_api_base, "purchase", name) == [charged]
    assert [e.name for e in entitlements.entitlements] == [paid.entitlement]
    invoices = await rows(billing_process, "SELECT source FROM invoices")
    assert [invoice.source for invoice in invoices] == [name]
    assert (await announced(billing_process, PAYMENT_SUCCEEDED))[name] == 1
