"""Renewals settled in batches: several renewers side by side, each taking a few subscriptions
at a time while other payments are invoiced and audited, still renew each membership once,
number the invoices without a gap and keep the audit chain whole; and a renewal whose answer
cannot be applied keeps none of the others in its batch from being applied."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from billing.buying import Uow, a_plan, buy, current, member, renewal_charges, subscribed
from billing.stripe_support import CARD_OK, tokenized_card
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.domain.subscriptions import Subscription
from stride.billing.entrypoints.audit import verify
from stride.billing.service_layer import subscriptions
from stride.billing.service_layer.invoices import issue_invoice

MINUTE = timedelta(minutes=1)


async def invoice_numbers(new_uow: Uow) -> list[int]:
    async with new_uow.args[0]() as session:
        numbers = await session.execute(text("SELECT number FROM invoices ORDER BY number"))
        return list(numbers.scalars())


async def charges_in_flight(new_uow: Uow) -> int:
    async with new_uow.args[0]() as session:
        return int(
            (await session.execute(text("SELECT count(*) FROM subscription_charges"))).scalar_one()
        )


def due_after(started: list[Subscription]) -> datetime:
    return max(subscription.period_end for subscription in started) + MINUTE


async def test_renewers_side_by_side_in_batches_renew_each_once_gaplessly_and_chained(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str, database_url: str
) -> None:
    holders = [await subscribed(new_uow, payments, stripe_api_base) for _ in range(10)]
    started = [subscription for _, subscription in holders]
    pack = await a_plan(new_uow)
    due = due_after(started)

    async def renewer() -> int:
        return await subscriptions.renew_due(
            new_uow, payments, clock=lambda: due, workers=2, batch=3
        )

    async def pack_buyer() -> None:  # Invoiced and audited between the renewers' batches.
        await buy(new_uow, payments, member(), pack, tokenized_card(stripe_api_base, CARD_OK))

    handled = await asyncio.gather(
        *(renewer() for _ in range(3)), *(pack_buyer() for _ in range(4))
    )

    assert sum(n or 0 for n in handled[:3]) == len(holders)
    renewed = [await current(new_uow, buyer) for buyer, _ in holders]
    assert [subscription.period_index for subscription in renewed] == [1] * len(holders)
    assert [renewal_charges(stripe_api_base, s) for s in renewed] == [1] * len(holders)
    # 10 first periods, 4 packs and 10 renewals.
    assert await invoice_numbers(new_uow) == list(range(1, 25))
    assert (await verify(database_url))[1] is None


async def test_a_renewal_that_cannot_be_applied_holds_back_none_of_its_batch(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str, database_url: str
) -> None:
    holders = [await subscribed(new_uow, payments, stripe_api_base) for _ in range(4)]
    started = [subscription for _, subscription in holders]
    poisoned = started[1]
    # The period's invoice exists already: the renewal's own violates its unique source.
    uow = new_uow()
    async with uow:
        await issue_invoice(
            uow,
            poisoned.member_id,
            poisoned.plan.studio,
            poisoned.plan.currency,
            (),
            f"{poisoned.resource_name}/periods/1",
            poisoned.period_end,
        )
        await uow.commit()
    numbers_before = await invoice_numbers(new_uow)
    due = due_after(started)

    with pytest.raises(IntegrityError):
        await subscriptions.renew_due(new_uow, payments, clock=lambda: due, workers=1, batch=4)

    after = [await current(new_uow, buyer) for buyer, _ in holders]
    assert [s.period_index for s in after] == [1, 0, 1, 1]
    # Its charge stays claimed: a later run repeats it with the same idempotency key.
    assert await charges_in_flight(new_uow) == 1
    numbers = await invoice_numbers(new_uow)
    assert numbers == list(range(1, len(numbers_before) + 4))
    assert (await verify(database_url))[1] is None
    assert [renewal_charges(stripe_api_base, s) for s in after] == [1, 1, 1, 1]
