"""A slow payment provider holds no database connection and no lock. Billing's pool here is
smaller than the number of payments stalled at the provider, yet other members still pay;
once the provider answers, each stalled payment completes exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from types import ModuleType

import pytest
import pytest_asyncio

from billing.buying import Uow, a_plan, buy, confirm, current, entitlements_of, finance, member
from billing.stalls import StripeProxy, stripe_proxy
from billing.stripe_support import API_KEY, CARD_OK, INTENTS, payment_intents, tokenized_card
from billing.tabby_server import MERCHANT_CODE, SECRET_KEY, TabbyServer
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.adapters.tabby_financing import TabbyFinancing
from stride.billing.domain.payments import ATTEMPT_LEASE
from stride.billing.domain.plans import PlanKind
from stride.billing.domain.purchases import PurchaseState
from stride.billing.service_layer import subscriptions
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.errors import Aborted, Unavailable

POOL_SIZE = 2  # And as many again at peak: four connections in all.
STALLED = 6
# Longer than any stall here, so the provider's slowness is never mistaken for its absence.
PATIENT_SECONDS = 120


@pytest_asyncio.fixture(scope="module")
async def small_pool(new_uow: Uow, database_url: str) -> AsyncIterator[Uow]:
    """Units of work over a pool of POOL_SIZE connections (`new_uow` migrated the schema)."""
    engine = create_engine(database_url, pool_size=POOL_SIZE)
    yield partial(BillingUnitOfWork, session_factory(engine))
    await engine.dispose()


@asynccontextmanager
async def patient_stripe(api_base: str) -> AsyncIterator[tuple[StripeProxy, StripePayments]]:
    """Stripe behind a proxy that stalls when asked, and the adapter waiting on it patiently."""
    async with stripe_proxy(api_base) as proxy:
        payments = StripePayments(API_KEY, proxy.api_base, timeout_seconds=PATIENT_SECONDS)
        try:
            yield proxy, payments
        finally:
            await payments.close()


async def test_purchases_stalled_at_stripe_leave_the_pool_to_other_members(
    small_pool: Uow, stripe_api_base: str
) -> None:
    async with patient_stripe(stripe_api_base) as (proxy, payments):
        plan = await a_plan(small_pool)
        stalled = [(member(), tokenized_card(stripe_api_base, CARD_OK)) for _ in range(STALLED)]
        proxy.stall.hold(*(card for _, card in stalled))
        waiting = [
            asyncio.create_task(buy(small_pool, payments, buyer, plan, card, "stalled"))
            for buyer, card in stalled
        ]
        await proxy.stall.holding(STALLED)

        others = await asyncio.gather(
            *(
                buy(
                    small_pool,
                    payments,
                    member(),
                    plan,
                    tokenized_card(stripe_api_base, CARD_OK),
                )
                for _ in range(2)
            )
        )
        first_buyer, first_card = stalled[0]
        with pytest.raises(Aborted):  # The same request again, while the first is in flight.
            await buy(small_pool, payments, first_buyer, plan, first_card, "stalled")
        assert not any(task.done() for task in waiting)

        proxy.stall.release()
        settled = [purchase for purchase, _ in await asyncio.gather(*waiting)]
        retried = [
            (await buy(small_pool, payments, buyer, plan, card, "stalled"))[0]
            for buyer, card in stalled
        ]

    assert [purchase.state for purchase, _ in others] == [PurchaseState.SUCCEEDED] * 2
    assert [purchase.state for purchase in settled] == [PurchaseState.SUCCEEDED] * STALLED
    assert retried == settled
    intents = payment_intents(stripe_api_base)
    for (buyer, _), purchase in zip(stalled, settled, strict=True):
        charged = [i for i in intents if i["metadata"].get("purchase") == purchase.resource_name]
        assert [i["id"] for i in charged] == [purchase.payment_intent]
        assert [e.id for e in await entitlements_of(small_pool, buyer)] == [purchase.entitlement_id]


async def test_renewals_stalled_at_stripe_leave_the_pool_to_other_members(
    small_pool: Uow, stripe_api_base: str
) -> None:
    async with patient_stripe(stripe_api_base) as (proxy, payments):
        monthly = await a_plan(small_pool, PlanKind.MONTHLY_MEMBERSHIP)
        holders = [member() for _ in range(STALLED)]
        cards = [tokenized_card(stripe_api_base, CARD_OK) for _ in holders]
        for holder, card in zip(holders, cards, strict=True):
            await buy(small_pool, payments, holder, monthly, card)
        started = [await current(small_pool, holder) for holder in holders]
        due = max(subscription.period_end for subscription in started) + timedelta(minutes=1)
        proxy.stall.hold(*cards)
        renewing = asyncio.create_task(
            subscriptions.renew_due(small_pool, payments, clock=lambda: due, workers=STALLED)
        )
        await proxy.stall.holding(STALLED)

        pack = await a_plan(small_pool)
        other, _ = await buy(
            small_pool, payments, member(), pack, tokenized_card(stripe_api_base, CARD_OK)
        )
        assert not renewing.done()

        proxy.stall.release()
        renewed = await renewing
        again = await subscriptions.renew_due(small_pool, payments, clock=lambda: due)

    assert other.state is PurchaseState.SUCCEEDED
    assert (renewed, again) == (STALLED, 0)
    intents = payment_intents(stripe_api_base)
    for holder, before in zip(holders, started, strict=True):
        after = await current(small_pool, holder)
        charged = [i for i in intents if i["metadata"].get("subscription") == after.resource_name]
        assert (after.period_index, after.period_start) == (1, before.period_end)
        assert len(charged) == 1


async def test_confirmations_stalled_at_tabby_leave_the_pool_to_other_members(
    small_pool: Uow, tabby: TabbyServer
) -> None:
    financing = TabbyFinancing(
        tabby.api_base,
        SECRET_KEY,
        MERCHANT_CODE,
        "stride://financing",
        timeout_seconds=PATIENT_SECONDS,
    )
    plan = await a_plan(small_pool)
    buyers = [member() for _ in range(STALLED)]
    started = [await finance(small_pool, financing, buyer, plan) for buyer in buyers]
    for purchase in started:
        tabby.decide(purchase.financing_payment, approve=True)
    tabby.stall.hold(*(purchase.financing_payment for purchase in started))
    waiting = [
        asyncio.create_task(confirm(small_pool, financing, buyer, purchase))
        for buyer, purchase in zip(buyers, started, strict=True)
    ]
    await tabby.stall.holding(STALLED)

    other = member()
    other_started = await finance(small_pool, financing, other, plan)
    tabby.decide(other_started.financing_payment, approve=True)
    other_paid = await confirm(small_pool, financing, other, other_started)
    assert not any(task.done() for task in waiting)

    tabby.stall.release()
    paid = await asyncio.gather(*waiting)
    again = [
        await confirm(small_pool, financing, buyer, purchase)
        for buyer, purchase in zip(buyers, started, strict=True)
    ]

    assert other_paid.state is PurchaseState.SUCCEEDED
    assert [purchase.state for purchase in paid] == [PurchaseState.SUCCEEDED] * STALLED
    assert again == paid
    for buyer, purchase in zip(buyers, paid, strict=True):
        assert len(tabby.payments[purchase.financing_payment].captures) == 1
        assert [e.id for e in await entitlements_of(small_pool, buyer)] == [purchase.entitlement_id]


def running_code_of(module: ModuleType) -> list[str]:
    """The coroutines of `module` that tasks of this event loop are still running."""
    coroutines = [task.get_coro() for task in asyncio.all_tasks()]
    return [
        getattr(coroutine, "__qualname__", "")
        for coroutine in coroutines
        if getattr(getattr(coroutine, "cr_code", None), "co_filename", "") == module.__file__
    ]


async def test_a_failed_renewal_run_leaves_no_worker_running(
    small_pool: Uow, stripe_api_base: str
) -> None:
    """One worker finds Stripe unavailable while another waits on a slow Stripe: the run
    fails, and the waiting worker is stopped with it rather than left charging on its own."""
    async with patient_stripe(stripe_api_base) as (proxy, payments):
        monthly = await a_plan(small_pool, PlanKind.MONTHLY_MEMBERSHIP)
        holders = [member(), member()]
        lost_card, stalled_card = (tokenized_card(stripe_api_base, CARD_OK) for _ in holders)
        for holder, card in zip(holders, (lost_card, stalled_card), strict=True):
            await buy(small_pool, payments, holder, monthly, card)
        started = [await current(small_pool, holder) for holder in holders]
        due = max(subscription.period_end for subscription in started) + timedelta(minutes=1)
        proxy.lose_answers(INTENTS, lost_card)
        proxy.stall.hold(stalled_card)

        with pytest.raises(Unavailable):
            await subscriptions.renew_due(small_pool, payments, clock=lambda: due, workers=2)
        left_running = running_code_of(subscriptions)
        proxy.answer_again()
        proxy.stall.release()
        # The charges the run had in flight stay claimed; a later run completes them.
        later = due + ATTEMPT_LEASE
        completed = await subscriptions.renew_due(small_pool, payments, clock=lambda: later)

    assert left_running == []
    assert completed == 2
    assert [(await current(small_pool, holder)).period_index for holder in holders] == [1, 1]
