"""Memberships that renew through Stripe (localstripe): one charge per period however many
renewers run, dunning on failure, recovery with a new card, cancellation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest

from billing.buying import (
    MANAGER,
    STUDIO,
    Uow,
    a_plan,
    a_premium_plan,
    announced,
    buy,
    current,
    entitlements_of,
    member,
    renewal_charges,
    subscribed,
    switch,
)
from billing.stripe_support import CARD_OK, payment_intents, tokenized_card
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.domain.entitlements import Entitlement, Kind
from stride.billing.domain.money import plan_change_quote
from stride.billing.domain.plans import Plan, PlanKind
from stride.billing.domain.subscriptions import GRACE, Subscription, SubscriptionState
from stride.billing.service_layer import invoices, plans, subscriptions
from stride.billing.service_layer.commands import (
    AddFamilyMember,
    ChangePaymentMethod,
    CreatePlan,
    PauseSubscription,
)
from stride.billing.service_layer.payments import PAYMENT_FAILED, PAYMENT_SUCCEEDED
from stride.billing.service_layer.subscriptions import (
    SUBSCRIPTION_ACTIVATED,
    SUBSCRIPTION_CANCELLED,
    SUBSCRIPTION_PAST_DUE,
    SUBSCRIPTION_SUSPENDED,
    SUBSCRIPTION_TRIAL_STARTED,
)
from stride.platform.auth import Principal, authenticated_as
from stride.platform.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied

CARD_FAILS_LATER = "4000000000000341"  # Saved without complaint; every charge is declined.
MINUTE = timedelta(minutes=1)


async def a_membership(new_uow: Uow, name_en: str, name_ar: str, **terms: int) -> Plan:
    """A monthly membership at SAR 300.00 before VAT, with the terms given."""
    with authenticated_as(MANAGER):
        return await plans.create_plan(
            new_uow(),
            CreatePlan(
                STUDIO, name_en, name_ar, PlanKind.MONTHLY_MEMBERSHIP, "SAR", 30_000, 1500, **terms
            ),
        )


async def membership(new_uow: Uow, buyer: Principal) -> Entitlement:
    (held,) = await entitlements_of(new_uow, buyer)
    assert held.kind is Kind.MEMBERSHIP
    return held


async def renew_at(new_uow: Uow, payments: StripePayments, moment: datetime) -> int:
    return await subscriptions.renew_due(new_uow, payments, clock=lambda: moment)


async def change_card(
    new_uow: Uow, payments: StripePayments, buyer: Principal, subscription: Subscription, card: str
) -> Subscription:
    with authenticated_as(buyer):
        return await subscriptions.change_payment_method(
            new_uow(), payments, ChangePaymentMethod(subscription.member_id, subscription.id, card)
        )


async def test_a_paid_membership_renews_once_per_period_however_many_renewers_run(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer, started = await subscribed(new_uow, payments, stripe_api_base)
    assert (started.state, started.period_index) == (SubscriptionState.ACTIVE, 0)
    assert (await membership(new_uow, buyer)).expire == started.period_end + GRACE

    due = started.period_end + MINUTE
    await asyncio.gather(*(renew_at(new_uow, payments, due) for _ in range(3)))
    await renew_at(new_uow, payments, due)  # The scheduler fires again: nothing more to do.

    renewed = await current(new_uow, buyer)
    assert (renewed.state, renewed.period_index) == (SubscriptionState.ACTIVE, 1)
    assert renewed.period_start == started.period_end
    assert renewal_charges(stripe_api_base, renewed) == 1
    assert (await membership(new_uow, buyer)).expire == renewed.period_end + GRACE


async def test_a_failed_renewal_is_retried_and_a_new_card_recovers_it(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer, started = await subscribed(new_uow, payments, stripe_api_base)
    await change_card(
        new_uow, payments, buyer, started, tokenized_card(stripe_api_base, CARD_FAILS_LATER)
    )
    due = started.period_end + MINUTE

    await renew_at(new_uow, payments, due)
    first_failure = await current(new_uow, buyer)
    await renew_at(new_uow, payments, due + timedelta(hours=1))  # Not yet time to retry.
    await renew_at(new_uow, payments, due + timedelta(days=1))
    second_failure = await current(new_uow, buyer)

    assert (first_failure.state, first_failure.failed_attempts) == (SubscriptionState.PAST_DUE, 1)
    assert first_failure.next_attempt == due + timedelta(days=1)
    assert second_failure.failed_attempts == 2
    # Past due but within grace: the membership still books until the grace period ends.
    assert (await membership(new_uow, buyer)).expire == started.period_end + GRACE

    recovered = await change_card(
        new_uow, payments, buyer, second_failure, tokenized_card(stripe_api_base, CARD_OK)
    )
    assert (recovered.state, recovered.period_index, recovered.failed_attempts) == (
        SubscriptionState.ACTIVE,
        1,
        0,
    )
    assert (await membership(new_uow, buyer)).expire == recovered.period_end + GRACE


async def test_when_the_last_retry_fails_the_subscription_ends_unpaid(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer, started = await subscribed(new_uow, payments, stripe_api_base)
    await change_card(
        new_uow, payments, buyer, started, tokenized_card(stripe_api_base, CARD_FAILS_LATER)
    )
    moment = started.period_end + MINUTE
    for delay in (timedelta(0), timedelta(days=1), timedelta(days=2), timedelta(days=4)):
        moment += delay
        await renew_at(new_uow, payments, moment)

    ended = await current(new_uow, buyer)
    assert (ended.state, ended.cancelled, ended.next_attempt) == (
        SubscriptionState.CANCELLED,
        moment,
        None,
    )
    assert (await membership(new_uow, buyer)).expire == moment
    assert renewal_charges(stripe_api_base, ended) == 4
    # The member hears of every step; the retry at the end of the grace period suspends booking.
    assert await announced(new_uow, ended.resource_name) == [
        SUBSCRIPTION_ACTIVATED,
        PAYMENT_FAILED,
        SUBSCRIPTION_PAST_DUE,
        PAYMENT_FAILED,
        SUBSCRIPTION_PAST_DUE,
        PAYMENT_FAILED,
        SUBSCRIPTION_SUSPENDED,
        PAYMENT_FAILED,
        SUBSCRIPTION_CANCELLED,
    ]


async def test_cancelling_at_period_end_stops_renewal_without_a_charge(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer, started = await subscribed(new_uow, payments, stripe_api_base)
    with authenticated_as(buyer):
        asked = await subscriptions.cancel_subscription(
            new_uow(), started.member_id, started.id, at_period_end=True
        )
    assert (asked.state, asked.cancel_at_period_end) == (SubscriptionState.ACTIVE, True)

    await renew_at(new_uow, payments, started.period_end + MINUTE)

    ended = await current(new_uow, buyer)
    assert (ended.state, ended.cancelled) == (SubscriptionState.CANCELLED, started.period_end)
    assert renewal_charges(stripe_api_base, ended) == 0
    assert (await membership(new_uow, buyer)).expire == started.period_end


async def test_cancelling_now_ends_the_membership_now(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer, started = await subscribed(new_uow, payments, stripe_api_base)
    now = started.period_start + timedelta(days=3)
    with authenticated_as(buyer):
        ended = await subscriptions.cancel_subscription(
            new_uow(), started.member_id, started.id, at_period_end=False, clock=lambda: now
        )
    assert (ended.state, ended.cancelled) == (SubscriptionState.CANCELLED, now)
    assert (await membership(new_uow, buyer)).expire == now


async def test_members_cannot_see_or_cancel_each_other_s_subscriptions(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer, started = await subscribed(new_uow, payments, stripe_api_base)
    other = member()
    with authenticated_as(other), pytest.raises(PermissionDenied):
        await subscriptions.list_subscriptions(new_uow(), started.member_id, 0, 10)
    with authenticated_as(other), pytest.raises(PermissionDenied):
        await subscriptions.cancel_subscription(new_uow(), started.member_id, started.id, False)
    with authenticated_as(other), pytest.raises(NotFound):
        await subscriptions.cancel_subscription(
            new_uow(), uuid.UUID(other.user_id), started.id, False
        )
    assert (await current(new_uow, buyer)).state is SubscriptionState.ACTIVE


async def test_a_frozen_membership_books_nothing_in_its_window_and_renews_later(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer, started = await subscribed(new_uow, payments, stripe_api_base)
    start = started.period_start + timedelta(days=5)
    with authenticated_as(buyer):
        frozen = await subscriptions.pause_subscription(
            new_uow(),
            PauseSubscription(started.member_id, started.id, start, start + timedelta(days=10)),
        )
    await renew_at(new_uow, payments, started.period_end + MINUTE)  # No longer due then.

    held = await membership(new_uow, buyer)
    assert frozen.period_end == started.period_end + timedelta(days=10)
    assert (await current(new_uow, buyer)).period_index == 0
    assert held.expire == frozen.period_end + GRACE
    assert held.covers(held.studio, start - MINUTE)
    assert not held.covers(held.studio, start + timedelta(days=3))
    assert held.covers(held.studio, start + timedelta(days=10))


async def test_an_upgrade_charges_the_prorated_difference_once(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer, started = await subscribed(new_uow, payments, stripe_api_base)
    premium = await a_premium_plan(new_uow)
    midway = started.period_start + (started.period_end - started.period_start) / 2

    upgraded = await switch(new_uow, payments, buyer, started, premium, "up-1", midway)
    retried = await switch(new_uow, payments, buyer, started, premium, "up-1", midway)

    expected = plan_change_quote(
        "SAR", 1500, 30_000, 60_000, started.period_start, started.period_end, midway
    )
    with authenticated_as(buyer):
        change_invoice, _ = await invoices.list_invoices(new_uow(), started.member_id, 0, 10)
    assert (upgraded.plan.id, retried.plan.id) == (premium.id, premium.id)
    assert change_invoice.total_minor == expected.total_minor == 17_250
    assert [i.description_key for i in change_invoice.lines] == [
        "line.unused_time",
        "line.remaining_time",
    ]
    assert renewal_charges(stripe_api_base, upgraded) == 1


async def test_a_downgrade_waits_for_the_next_renewal(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer = member()
    premium = await a_premium_plan(new_uow)
    await buy(new_uow, payments, buyer, premium, tokenized_card(stripe_api_base, CARD_OK))
    started = await current(new_uow, buyer)
    basic = await a_plan(new_uow, PlanKind.MONTHLY_MEMBERSHIP)

    waiting = await switch(
        new_uow, payments, buyer, started, basic, "down-1", started.period_start + MINUTE
    )
    await renew_at(new_uow, payments, started.period_end + MINUTE)

    renewed = await current(new_uow, buyer)
    assert (waiting.plan.id, waiting.pending_plan) == (premium.id, basic)
    assert (renewed.plan.id, renewed.pending_plan, renewed.period_index) == (basic.id, None, 1)
    charged = [
        i["amount"]
        for i in payment_intents(stripe_api_base)
        if i.get("metadata", {}).get("subscription") == renewed.resource_name
    ]
    assert charged == [34_500]  # The basic plan's price with VAT.


async def test_an_intro_offer_with_a_commitment_is_served_before_it_ends(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    offer = await a_membership(
        new_uow, "Intro quarter", "ربع تعريفي", intro_price_minor=10_000, commitment_periods=3
    )
    buyer = member()
    bought, _ = await buy(new_uow, payments, buyer, offer, tokenized_card(stripe_api_base, CARD_OK))
    started = await current(new_uow, buyer)
    with authenticated_as(buyer), pytest.raises(FailedPrecondition) as committed:
        await subscriptions.cancel_subscription(new_uow(), started.member_id, started.id, False)
    with authenticated_as(buyer):
        await subscriptions.cancel_subscription(new_uow(), started.member_id, started.id, True)

    for _ in range(3):
        await renew_at(new_uow, payments, (await current(new_uow, buyer)).period_end + MINUTE)

    ended = await current(new_uow, buyer)
    assert bought.amount_minor == 11_500  # The intro price with VAT.
    assert committed.value.reason == "COMMITTED"
    assert (ended.state, ended.period_index) == (SubscriptionState.CANCELLED, 2)
    assert ended.cancelled == ended.period_end == started.committed_until
    assert renewal_charges(stripe_api_base, ended) == 2  # Periods 2 and 3, at the full price.


async def a_trial_plan(new_uow: Uow) -> Plan:
    return await a_membership(
        new_uow,
        "Monthly, two weeks free",
        "شهري، أسبوعان مجانًا",
        intro_price_minor=20_000,
        trial_days=14,
    )


async def test_a_free_trial_saves_the_card_and_charges_the_first_period_when_it_ends(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    trial = await a_trial_plan(new_uow)
    buyer = member()
    bought, _ = await buy(new_uow, payments, buyer, trial, tokenized_card(stripe_api_base, CARD_OK))
    trialing = await current(new_uow, buyer)
    with authenticated_as(buyer):
        invoiced_in_trial = await invoices.list_invoices(new_uow(), trialing.member_id, 0, 10)

    assert (bought.amount_minor, trialing.state) == (0, SubscriptionState.TRIALING)
    assert trialing.period_end - trialing.period_start == timedelta(days=14)
    assert trialing.trial_end == trialing.next_attempt == trialing.period_end
    assert (await membership(new_uow, buyer)).expire == trialing.period_end + GRACE
    assert (invoiced_in_trial, renewal_charges(stripe_api_base, trialing)) == ([], 0)

    await renew_at(new_uow, payments, trialing.period_end + MINUTE)
    paying = await current(new_uow, buyer)
    with authenticated_as(buyer):
        (first_invoice,) = await invoices.list_invoices(new_uow(), paying.member_id, 0, 10)
    assert (paying.state, paying.period_index) == (SubscriptionState.ACTIVE, 0)
    assert paying.period_start == trialing.trial_end
    assert first_invoice.total_minor == 23_000  # The intro price with VAT.
    assert renewal_charges(stripe_api_base, paying) == 1
    assert await announced(new_uow, paying.resource_name) == [
        SUBSCRIPTION_TRIAL_STARTED,
        PAYMENT_SUCCEEDED,
        SUBSCRIPTION_ACTIVATED,
    ]


async def test_a_trial_is_only_a_member_s_first_membership_at_a_studio(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    trial = await a_trial_plan(new_uow)
    buyer = member()
    card = tokenized_card(stripe_api_base, CARD_OK)
    first, _ = await buy(new_uow, payments, buyer, trial, card)
    again, _ = await buy(new_uow, payments, buyer, trial, card)
    assert (first.amount_minor, again.amount_minor) == (0, 23_000)


async def test_cancelling_in_the_trial_ends_it_without_a_charge(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    trial = await a_trial_plan(new_uow)
    buyer = member()
    await buy(new_uow, payments, buyer, trial, tokenized_card(stripe_api_base, CARD_OK))
    trialing = await current(new_uow, buyer)
    with authenticated_as(buyer):
        await subscriptions.cancel_subscription(new_uow(), trialing.member_id, trialing.id, True)

    await renew_at(new_uow, payments, trialing.period_end + MINUTE)
    ended = await current(new_uow, buyer)
    assert (ended.state, ended.cancelled) == (SubscriptionState.CANCELLED, trialing.trial_end)
    assert renewal_charges(stripe_api_base, ended) == 0
    assert (await membership(new_uow, buyer)).expire == trialing.trial_end


async def a_family_plan(new_uow: Uow) -> Plan:
    return await a_membership(new_uow, "Family monthly", "شهري عائلي", add_on_price_minor=10_000)


async def add_member(
    new_uow: Uow,
    payments: StripePayments,
    holder: Principal,
    subscription: Subscription,
    family: Principal,
    moment: datetime,
    request_id: str = "add",
) -> Subscription:
    with authenticated_as(holder):
        return await subscriptions.add_family_member(
            new_uow(),
            payments,
            AddFamilyMember(
                subscription.member_id, subscription.id, uuid.UUID(family.user_id), request_id
            ),
            clock=lambda: moment,
        )


async def test_family_members_get_memberships_that_follow_the_holder_s_and_are_charged(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    holder, family = member(), member()
    await buy(
        new_uow,
        payments,
        holder,
        await a_family_plan(new_uow),
        tokenized_card(stripe_api_base, CARD_OK),
    )
    started = await current(new_uow, holder)
    halfway = started.period_start + (started.period_end - started.period_start) / 2
    added = await add_member(new_uow, payments, holder, started, family, halfway)
    again = await add_member(new_uow, payments, holder, added, family, halfway, "add-again")
    with authenticated_as(holder):
        add_on_invoice, _ = await invoices.list_invoices(new_uow(), started.member_id, 0, 10)

    assert [a.member_id for a in again.add_ons] == [uuid.UUID(family.user_id)]
    assert add_on_invoice.total_minor == 5_750  # Half a period of SAR 100.00, with VAT.
    assert (await membership(new_uow, family)).expire == started.period_end + GRACE

    await renew_at(new_uow, payments, started.period_end + MINUTE)
    renewed = await current(new_uow, holder)
    assert (await membership(new_uow, family)).expire == renewed.period_end + GRACE
    with authenticated_as(holder):
        after_removal = await subscriptions.remove_family_member(
            new_uow(), renewed.member_id, renewed.id, uuid.UUID(family.user_id)
        )
    assert after_removal.add_ons == ()
    assert (await membership(new_uow, family)).expire == renewed.period_end
    await renew_at(new_uow, payments, renewed.period_end + MINUTE)

    charged = [
        i["amount"]
        for i in payment_intents(stripe_api_base)
        if i.get("metadata", {}).get("subscription") == started.resource_name
    ]
    assert charged == [5_750, 46_000, 34_500]  # The add-on, holder and family, holder alone.
    assert (await membership(new_uow, family)).expire == renewed.period_end


async def test_family_members_need_a_plan_that_offers_them_and_the_holder_s_consent(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    holder, family, stranger = member(), member(), member()
    _, plain = await subscribed(new_uow, payments, stripe_api_base)
    await buy(
        new_uow,
        payments,
        holder,
        await a_family_plan(new_uow),
        tokenized_card(stripe_api_base, CARD_OK),
    )
    family_membership = await current(new_uow, holder)
    moment = family_membership.period_start + MINUTE
    plain_holder = Principal(user_id=str(plain.member_id), roles=frozenset({"member"}))

    with pytest.raises(FailedPrecondition) as no_add_ons:
        await add_member(new_uow, payments, plain_holder, plain, family, plain.period_start)
    with pytest.raises(InvalidArgument) as oneself:
        await add_member(new_uow, payments, holder, family_membership, holder, moment)
    with pytest.raises(PermissionDenied):
        await add_member(new_uow, payments, stranger, family_membership, stranger, moment)

    assert no_add_ons.value.reason == "NO_ADD_ONS"
    assert [v.field for v in oneself.value.violations] == ["member"]
    assert (await current(new_uow, holder)).add_ons == ()


async def test_a_free_first_month_saves_the_card_and_charges_from_the_first_renewal(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    free_month = await a_membership(
        new_uow, "First month free", "الشهر الأول مجانًا", intro_price_minor=0
    )
    buyer = member()
    bought, _ = await buy(
        new_uow, payments, buyer, free_month, tokenized_card(stripe_api_base, CARD_OK)
    )
    started = await current(new_uow, buyer)
    await renew_at(new_uow, payments, started.period_end + MINUTE)
    renewed = await current(new_uow, buyer)

    assert (bought.amount_minor, bought.payment_intent, started.state) == (
        0,
        "",
        SubscriptionState.ACTIVE,
    )
    assert renewed.period_index == 1
    assert [
        i["amount"]
        for i in payment_intents(stripe_api_base)
        if i.get("metadata", {}).get("subscription") == renewed.resource_name
    ] == [34_500]


async def test_two_purchases_at_once_start_one_trial(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    trial = await a_trial_plan(new_uow)
    buyer = member()
    card = tokenized_card(stripe_api_base, CARD_OK)
    bought = await asyncio.gather(*(buy(new_uow, payments, buyer, trial, card) for _ in range(2)))
    assert sorted(purchase.amount_minor for purchase, _ in bought) == [0, 23_000]
