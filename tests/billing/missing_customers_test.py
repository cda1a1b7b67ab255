"""A member's Stripe customer deleted behind Billing's back (in Stripe's dashboard, or with a
test account reset): the cards saved under it are gone, and Billing says so instead of taking
Stripe for unavailable. Where the member is here with a card, a new customer takes the old
one's place; where Billing would charge the card on file, the payment fails and the member
is asked for a card."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from billing.buying import (
    Uow,
    a_plan,
    a_premium_plan,
    buy,
    current,
    member,
    renewal_charges,
    subscribed,
)
from billing.stripe_support import CARD_OK, stripe_client, tokenized_card
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.domain.purchases import PurchaseState
from stride.billing.domain.subscriptions import SubscriptionState
from stride.billing.service_layer import subscriptions
from stride.billing.service_layer.commands import ChangePaymentMethod, ChangePlan
from stride.billing.service_layer.payments import list_payment_methods
from stride.platform.auth import Principal, authenticated_as
from stride.platform.errors import FailedPrecondition


async def customer_of(new_uow: Uow, member_id: uuid.UUID) -> str | None:
    uow = new_uow()
    async with uow:
        return await uow.payments.customer(member_id)


async def deleted_at_stripe(new_uow: Uow, api_base: str, member_id: uuid.UUID) -> str:
    """Deletes the member's customer in Stripe, as someone would in its dashboard."""
    customer = await customer_of(new_uow, member_id)
    assert customer is not None
    stripe_client(api_base).v1.customers.delete(customer)
    return customer


async def saved_cards(new_uow: Uow, payments: StripePayments, buyer: Principal) -> list[str]:
    with authenticated_as(buyer):
        cards = await list_payment_methods(new_uow(), payments, uuid.UUID(buyer.user_id))
    return [card.payment_method for card in cards]


async def test_a_member_whose_customer_is_gone_has_no_cards_and_buys_with_a_new_one(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    plan, buyer = await a_plan(new_uow), member()
    member_id = uuid.UUID(buyer.user_id)
    await buy(new_uow, payments, buyer, plan, tokenized_card(stripe_api_base, CARD_OK))
    gone = await deleted_at_stripe(new_uow, stripe_api_base, member_id)

    left = await saved_cards(new_uow, payments, buyer)
    card = tokenized_card(stripe_api_base, CARD_OK)
    bought, _ = await buy(new_uow, payments, buyer, plan, card)

    assert left == []
    assert bought.state is PurchaseState.SUCCEEDED
    assert await customer_of(new_uow, member_id) not in (None, gone)
    assert await saved_cards(new_uow, payments, buyer) == [card]


async def test_a_membership_whose_customer_is_gone_asks_the_member_for_a_card(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer, started = await subscribed(new_uow, payments, stripe_api_base)
    premium = await a_premium_plan(new_uow)
    gone = await deleted_at_stripe(new_uow, stripe_api_base, started.member_id)

    with authenticated_as(buyer), pytest.raises(FailedPrecondition) as upgrade:
        await subscriptions.change_plan(
            new_uow(),
            payments,
            ChangePlan(started.member_id, started.id, premium.studio, premium.id, "up-1"),
            clock=lambda: started.period_start + timedelta(days=1),
        )
    due = started.period_end + timedelta(minutes=1)
    await subscriptions.renew_due(new_uow, payments, clock=lambda: due)
    overdue = await current(new_uow, buyer)
    with authenticated_as(buyer):
        recovered = await subscriptions.change_payment_method(
            new_uow(),
            payments,
            ChangePaymentMethod(
                started.member_id, started.id, tokenized_card(stripe_api_base, CARD_OK)
            ),
        )

    assert upgrade.value.reason == "SAVED_CARD_GONE"
    assert (overdue.state, overdue.failed_attempts, overdue.plan.id) == (
        SubscriptionState.PAST_DUE,
        1,
        started.plan.id,
    )
    assert (recovered.state, recovered.period_index) == (SubscriptionState.ACTIVE, 1)
    assert await customer_of(new_uow, started.member_id) not in (None, gone)
    assert renewal_charges(stripe_api_base, recovered) == 1
