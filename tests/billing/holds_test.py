"""Credits held by bookings, against real Postgres: never spent twice, one hold per booking."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from stride.billing.domain.entitlements import Hold, HoldState, Kind
from stride.billing.service_layer import handlers
from stride.billing.service_layer.commands import GrantEntitlement, HoldCredit
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.auth import Principal, authenticated_as
from stride.platform.errors import DomainError, FailedPrecondition

STUDIO = "studios/olaya"
CLASS_START = datetime.now(UTC) + timedelta(days=2)
MANAGER = Principal(user_id=str(uuid.uuid4()), roles=frozenset({"manager"}), studio=STUDIO)


async def a_pack(new_uow: partial[BillingUnitOfWork], member: uuid.UUID, credits: int) -> None:
    with authenticated_as(MANAGER):
        uow = new_uow()
        async with uow:
            await handlers.grant(
                uow,
                GrantEntitlement(
                    member, Kind.CLASS_PACK, STUDIO, credits, None, CLASS_START + timedelta(days=30)
                ),
            )
            await uow.commit()


async def hold(new_uow: partial[BillingUnitOfWork], member: uuid.UUID, booking: uuid.UUID) -> Hold:
    """As Scheduling asks, through the internal RPC (no member is the caller; tests/e2e prove
    members cannot reach it)."""
    return await handlers.hold_credit(new_uow(), hold_of(member, booking))


def hold_of(member: uuid.UUID, booking: uuid.UUID) -> HoldCredit:
    return HoldCredit(member, f"users/{member}/bookings/{booking}", booking, STUDIO, CLASS_START)


async def remaining(new_uow: partial[BillingUnitOfWork], member: uuid.UUID) -> int:
    with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
        (pack,) = await handlers.list_entitlements(new_uow(), member, 0, 10)
    return pack.credits_remaining


async def test_credits_are_never_spent_twice(new_uow: partial[BillingUnitOfWork]) -> None:
    member = uuid.uuid4()
    await a_pack(new_uow, member, 3)
    results = await asyncio.gather(
        *(hold(new_uow, member, uuid.uuid4()) for _ in range(10)), return_exceptions=True
    )
    held = [r for r in results if isinstance(r, Hold)]
    refused = [r for r in results if isinstance(r, FailedPrecondition)]
    assert (len(held), len(refused)) == (3, 7)
    assert {r.reason for r in refused} == {"NO_ENTITLEMENT"}
    assert await remaining(new_uow, member) == 0


async def test_one_hold_per_booking_and_release_gives_the_credit_back(
    new_uow: partial[BillingUnitOfWork],
) -> None:
    member, booking = uuid.uuid4(), uuid.uuid4()
    await a_pack(new_uow, member, 2)
    first, again = await asyncio.gather(
        hold(new_uow, member, booking), hold(new_uow, member, booking)
    )
    assert first == again
    assert first.state is HoldState.HELD
    assert await remaining(new_uow, member) == 1
    released = await handlers.release_hold(new_uow(), member, booking)
    twice = await handlers.release_hold(new_uow(), member, booking)
    assert released.state is twice.state is HoldState.RELEASED
    assert await remaining(new_uow, member) == 2


async def test_a_hold_is_never_lent_to_another_booking(new_uow: partial[BillingUnitOfWork]) -> None:
    member, booking = uuid.uuid4(), uuid.uuid4()
    await a_pack(new_uow, member, 2)
    await hold(new_uow, member, booking)
    elsewhere = HoldCredit(
        member, f"users/{member}/bookings/{booking}", booking, "studios/other", CLASS_START
    )
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.hold_credit(new_uow(), elsewhere)
    assert refused.value.reason == "HOLD_OF_ANOTHER_BOOKING"
    assert await remaining(new_uow, member) == 1


async def test_a_batch_of_holds_decides_each_on_its_own_and_never_spends_a_credit_twice(
    new_uow: partial[BillingUnitOfWork],
) -> None:
    """A rush's holds asked together, in batches that overlap (two at once, each with the same
    member more than once): every hold is made or refused as alone, one refusal undoes nothing
    else, a hold asked twice holds once, and a member's credits are spent exactly."""
    rich, poor, broke = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await a_pack(new_uow, rich, 10)
    await a_pack(new_uow, poor, 2)
    twice = uuid.uuid4()
    unreadable = FailedPrecondition("NOT_READ", "field.required")
    first: list[HoldCredit | DomainError] = [
        hold_of(poor, uuid.uuid4()),
        hold_of(rich, twice),
        hold_of(broke, uuid.uuid4()),
        unreadable,
        hold_of(poor, uuid.uuid4()),
        hold_of(rich, uuid.uuid4()),
    ]
    second: list[HoldCredit | DomainError] = [
        hold_of(rich, twice),
        hold_of(poor, uuid.uuid4()),
        hold_of(rich, uuid.uuid4()),
    ]
    decided = await asyncio.gather(
        handlers.hold_credits(new_uow(), first), handlers.hold_credits(new_uow(), second)
    )

    outcomes = [
        result.reason if isinstance(result, DomainError) else result.state
        for results in decided
        for result in results
    ]
    made_for_poor = [
        result
        for results in decided
        for result in results
        if isinstance(result, Hold) and result.member_id == poor
    ]
    assert len(made_for_poor) == 2  # Two credits, three asked: one of the three refused.
    assert outcomes.count("NO_ENTITLEMENT") == 2  # That one, and the member without a pack.
    assert decided[0][3] is unreadable
    assert decided[0][1] == decided[1][0]  # The same booking's hold, asked twice: one hold.
    assert await remaining(new_uow, poor) == 0
    assert await remaining(new_uow, rich) == 10 - 3
