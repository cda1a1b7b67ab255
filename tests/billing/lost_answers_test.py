"""Stripe acted, but its answer never reached Billing (a timeout, or a crash before the answer
was applied). The payment is settled once all the same: by the retry with the same request
id, by Stripe's webhook, or by the renewer (renewals, and refunds left pending); and Stripe is
never asked to charge or refund twice for it (a repeat carries the same idempotency key and
the same parameters, and the proxy in front of localstripe answers it as Stripe does, with
the first answer)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
import pytest_asyncio

from billing.buying import (
    MANAGER,
    Uow,
    a_plan,
    a_premium_plan,
    buy,
    current,
    deliver,
    entitlements_of,
    finance,
    member,
    renewal_charges,
    subscribed,
    switch,
)
from billing.stalls import StripeProxy, stripe_proxy
from billing.stripe_support import (
    API_KEY,
    CARD_OK,
    INTENTS,
    event_for,
    intents_of,
    stripe_client,
    tokenized_card,
)
from billing.tabby_server import TabbyServer
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.adapters.tabby_financing import TabbyFinancing
from stride.billing.domain.money import plan_change_quote
from stride.billing.domain.payments import ATTEMPT_LEASE
from stride.billing.domain.plans import Plan
from stride.billing.domain.purchases import PurchaseState, RefundState, purchase_id
from stride.billing.service_layer import invoices, purchases, subscriptions
from stride.billing.service_layer.commands import RefundPurchase
from stride.platform.auth import Principal, authenticated_as
from stride.platform.errors import FailedPrecondition, Unavailable


@pytest_asyncio.fixture(scope="module")
async def proxy(stripe_api_base: str) -> AsyncIterator[StripeProxy]:
    async with stripe_proxy(stripe_api_base) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def proxied(proxy: StripeProxy) -> AsyncIterator[StripePayments]:
    """The Stripe adapter, talking to Stripe through the proxy."""
    adapter = StripePayments(API_KEY, proxy.api_base)
    yield adapter
    await adapter.close()


@pytest.fixture(autouse=True)
def answering(proxy: StripeProxy) -> Iterator[None]:
    yield
    proxy.answer_again()


async def a_purchase_left_unanswered(
    new_uow: Uow, payments: StripePayments, proxy: StripeProxy, api_base: str
) -> tuple[Principal, Plan, str, str]:
    """A member buys a pack with request id `lost`; Stripe charges, the answer is lost. The
    buyer, the plan, the card, and the purchase's name."""
    plan, buyer = await a_plan(new_uow), member()
    card = tokenized_card(api_base, CARD_OK)
    name = f"users/{buyer.user_id}/purchases/{purchase_id(uuid.UUID(buyer.user_id), 'lost')}"
    proxy.lose_answers(INTENTS, card)
    with pytest.raises(Unavailable):
        await buy(new_uow, payments, buyer, plan, card, "lost")
    return buyer, plan, card, name


async def test_a_purchase_whose_answer_was_lost_is_settled_by_the_retry(
    new_uow: Uow, proxied: StripePayments, proxy: StripeProxy, stripe_api_base: str
) -> None:
    buyer, plan, card, name = await a_purchase_left_unanswered(
        new_uow, proxied, proxy, stripe_api_base
    )
    (charged,) = intents_of(stripe_api_base, "purchase", name)  # Stripe took the money.
    assert await entitlements_of(new_uow, buyer) == []

    proxy.answer_again()
    bought, _ = await buy(new_uow, proxied, buyer, plan, card, "lost")

    assert (bought.state, bought.payment_intent) == (PurchaseState.SUCCEEDED, charged)
    assert intents_of(stripe_api_base, "purchase", name) == [charged]
    assert [e.id for e in await entitlements_of(new_uow, buyer)] == [bought.entitlement_id]


async def test_a_purchase_whose_answer_was_lost_is_settled_by_the_webhook(
    new_uow: Uow, proxied: StripePayments, proxy: StripeProxy, stripe_api_base: str
) -> None:
    buyer, plan, card, name = await a_purchase_left_unanswered(
        new_uow, proxied, proxy, stripe_api_base
    )
    (charged,) = intents_of(stripe_api_base, "purchase", name)

    await deliver(new_uow, event_for(stripe_api_base, "payment_intent.succeeded", charged))
    (granted,) = await entitlements_of(new_uow, buyer)
    retried, _ = await buy(new_uow, proxied, buyer, plan, card, "lost")  # Still unanswered.

    assert (retried.state, retried.entitlement_id) == (PurchaseState.SUCCEEDED, granted.id)
    assert intents_of(stripe_api_base, "purchase", name) == [charged]


async def test_a_purchase_whose_answer_was_lost_is_not_paid_in_instalments_instead(
    new_uow: Uow,
    proxied: StripePayments,
    proxy: StripeProxy,
    stripe_api_base: str,
    financing: TabbyFinancing,
    tabby: TabbyServer,
) -> None:
    """The member, seeing no answer, switches to instalments with the same request id: refused,
    since Stripe may have charged (it did); its webhook then settles the purchase once."""
    buyer, plan, _, name = await a_purchase_left_unanswered(
        new_uow, proxied, proxy, stripe_api_base
    )
    (charged,) = intents_of(stripe_api_base, "purchase", name)

    with pytest.raises(FailedPrecondition) as instead:
        await finance(new_uow, financing, buyer, plan, "lost")
    await deliver(new_uow, event_for(stripe_api_base, "payment_intent.succeeded", charged))

    assert instead.value.reason == "PURCHASE_PAID_BY_CARD"
    assert [payment for payment in tabby.payments.values() if payment.reference == name] == []
    with authenticated_as(buyer):
        bought = await purchases.get_purchase(
            new_uow(), uuid.UUID(buyer.user_id), purchase_id(uuid.UUID(buyer.user_id), "lost")
        )
    assert (bought.state, bought.payment_intent, bought.financing_payment) == (
        PurchaseState.SUCCEEDED,
        charged,
        "",
    )
    assert [e.id for e in await entitlements_of(new_uow, buyer)] == [bought.entitlement_id]


async def test_a_refund_whose_answer_was_lost_is_completed_once_without_a_retry(
    new_uow: Uow, proxied: StripePayments, proxy: StripeProxy, stripe_api_base: str
) -> None:
    plan, buyer = await a_plan(new_uow), member()
    bought, _ = await buy(new_uow, proxied, buyer, plan, tokenized_card(stripe_api_base, CARD_OK))
    command = RefundPurchase(bought.member_id, bought.id, 10_000, "SAR", "Moved away", "r-1")
    proxy.lose_answers("/v1/refunds", bought.payment_intent)
    with authenticated_as(MANAGER), pytest.raises(Unavailable):
        await purchases.refund_purchase(new_uow(), proxied, None, command)
    proxy.answer_again()

    completed = await purchases.complete_refunds(new_uow, proxied, None)
    with authenticated_as(MANAGER):
        retried, after = await purchases.refund_purchase(new_uow(), proxied, None, command)

    made = stripe_client(stripe_api_base).v1.refunds.list(
        params={"payment_intent": bought.payment_intent}
    )
    assert completed == 1
    assert [str(refund.id) for refund in made.data] == [retried.provider_refund]
    assert (retried.state, after.refunded_minor) == (RefundState.SUCCEEDED, 10_000)


async def test_a_renewal_whose_answer_was_lost_is_completed_by_the_renewer_once(
    new_uow: Uow, proxied: StripePayments, proxy: StripeProxy, stripe_api_base: str
) -> None:
    buyer, started = await subscribed(new_uow, proxied, stripe_api_base)
    due = started.period_end + timedelta(minutes=1)
    proxy.lose_answers(INTENTS, started.payment_method)
    with pytest.raises(Unavailable):
        await subscriptions.renew_due(new_uow, proxied, clock=lambda: due)
    proxy.answer_again()

    # The attempt that got no answer still holds the charge until its claim runs out.
    assert await subscriptions.renew_due(new_uow, proxied, clock=lambda: due) == 0
    waiting = await current(new_uow, buyer)
    later = due + ATTEMPT_LEASE
    assert await subscriptions.renew_due(new_uow, proxied, clock=lambda: later) == 1
    renewed = await current(new_uow, buyer)

    assert (waiting.period_index, renewed.period_index) == (0, 1)
    assert renewal_charges(stripe_api_base, renewed) == 1
    with authenticated_as(buyer):
        period_invoice, _ = await invoices.list_invoices(new_uow(), renewed.member_id, 0, 10)
    assert period_invoice.source == f"{renewed.resource_name}/periods/1"


async def test_an_upgrade_whose_answer_was_lost_is_applied_once_at_the_price_reserved_first(
    new_uow: Uow, proxied: StripePayments, proxy: StripeProxy, stripe_api_base: str
) -> None:
    buyer, started = await subscribed(new_uow, proxied, stripe_api_base)
    premium = await a_premium_plan(new_uow)
    midway = started.period_start + (started.period_end - started.period_start) / 2
    proxy.lose_answers(INTENTS, started.payment_method)
    with pytest.raises(Unavailable):
        await switch(new_uow, proxied, buyer, started, premium, "up-1", midway)
    proxy.answer_again()

    upgraded = await switch(
        new_uow, proxied, buyer, started, premium, "up-1", midway + timedelta(days=1)
    )

    quoted = plan_change_quote(
        "SAR", 1500, 30_000, 60_000, started.period_start, started.period_end, midway
    )
    with authenticated_as(buyer):
        change_invoice, _ = await invoices.list_invoices(new_uow(), started.member_id, 0, 10)
    assert upgraded.plan.id == premium.id
    assert change_invoice.total_minor == quoted.total_minor
    assert renewal_charges(stripe_api_base, upgraded) == 1
