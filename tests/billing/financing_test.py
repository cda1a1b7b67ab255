"""Paying in instalments through Tabby's Checkout API (a local server speaking it): nothing is
granted until Tabby approves and we capture; retries start no second checkout."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from billing.buying import (
    MANAGER,
    Uow,
    a_plan,
    buy,
    confirm,
    deliver,
    entitlements_of,
    finance,
    member,
)
from billing.stripe_support import CARD_3DS, CARD_OK, event_for, intents_of, tokenized_card
from billing.tabby_server import MERCHANT_CODE, SECRET_KEY, TabbyServer
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.adapters.tabby_financing import TabbyFinancing
from stride.billing.domain.payments import ATTEMPT_LEASE
from stride.billing.domain.plans import PlanKind
from stride.billing.domain.purchases import Purchase, PurchaseState, refund_id
from stride.billing.service_layer import invoices, purchases
from stride.billing.service_layer.commands import FinancePlan, PurchasePlan, RefundPurchase
from stride.platform.auth import authenticated_as
from stride.platform.clock import utcnow
from stride.platform.errors import FailedPrecondition, InvalidArgument

# Longer than the checkout held at Tabby here, so its slowness is never taken for an outage.
PATIENT_SECONDS = 120


async def test_an_approved_plan_is_captured_once_and_grants_the_pack(
    new_uow: Uow, financing: TabbyFinancing, tabby: TabbyServer
) -> None:
    buyer, plan = member(), await a_plan(new_uow)
    request_id = str(uuid.uuid4())
    started = await finance(new_uow, financing, buyer, plan, request_id)
    retried = await finance(new_uow, financing, buyer, plan, request_id)
    waiting = await confirm(new_uow, financing, buyer, started)

    assert started.state is PurchaseState.REQUIRES_ACTION
    assert started.financing_url.endswith(f"/hpp/{started.financing_payment}")
    assert retried.financing_payment == started.financing_payment
    assert len([p for p in tabby.payments.values() if p.reference == started.resource_name]) == 1
    assert waiting.state is PurchaseState.REQUIRES_ACTION
    assert await entitlements_of(new_uow, buyer) == []

    tabby.decide(started.financing_payment, approve=True)
    paid = await confirm(new_uow, financing, buyer, started)
    again = await confirm(new_uow, financing, buyer, started)

    assert (paid.state, again.state) == (PurchaseState.SUCCEEDED, PurchaseState.SUCCEEDED)
    captures = tabby.payments[started.financing_payment].captures
    assert [capture["amount"] for capture in captures] == ["345.00"]
    (pack,) = await entitlements_of(new_uow, buyer)
    assert (pack.id, pack.credits_remaining) == (paid.entitlement_id, 10)


async def test_a_rejected_plan_fails_and_grants_nothing(
    new_uow: Uow, financing: TabbyFinancing, tabby: TabbyServer
) -> None:
    buyer, plan = member(), await a_plan(new_uow)
    started = await finance(new_uow, financing, buyer, plan)
    tabby.decide(started.financing_payment, approve=False)

    failed = await confirm(new_uow, financing, buyer, started)

    assert (failed.state, failed.failure_code) == (PurchaseState.FAILED, "rejected")
    assert await entitlements_of(new_uow, buyer) == []


async def financed_and_paid(
    new_uow: Uow, financing: TabbyFinancing, tabby: TabbyServer
) -> Purchase:
    """A pack a member bought in instalments: approved on Tabby's page, captured."""
    buyer, plan = member(), await a_plan(new_uow)
    started = await finance(new_uow, financing, buyer, plan)
    tabby.decide(started.financing_payment, approve=True)
    return await confirm(new_uow, financing, buyer, started)


async def test_a_financed_purchase_is_refunded_through_the_partner(
    new_uow: Uow, financing: TabbyFinancing, tabby: TabbyServer, payments: StripePayments
) -> None:
    started = await financed_and_paid(new_uow, financing, tabby)

    with authenticated_as(MANAGER):
        refund, after = await purchases.refund_purchase(
            new_uow(),
            payments,
            financing,
            RefundPurchase(started.member_id, started.id, 10_000, "SAR", "Moved away", "r-1"),
        )

    made = tabby.payments[started.financing_payment].refunds
    assert [entry["amount"] for entry in made] == ["100.00"]
    assert refund.provider_refund == made[0]["id"]
    assert after.refunded_minor == 10_000


async def test_a_refund_tabby_made_for_an_attempt_that_died_is_not_made_twice(
    new_uow: Uow, financing: TabbyFinancing, tabby: TabbyServer, payments: StripePayments
) -> None:
    started = await financed_and_paid(new_uow, financing, tabby)
    command = RefundPurchase(started.member_id, started.id, 10_000, "SAR", "Moved away", "r-1")
    # The first attempt reached Tabby, then died before recording the refund.
    refund_name = f"{started.resource_name}/refunds/{refund_id(started.id, command.request_id)}"
    await financing.refund(started.financing_payment, 10_000, "SAR", refund_name)

    with authenticated_as(MANAGER):
        refund, after = await purchases.refund_purchase(new_uow(), payments, financing, command)

    made = tabby.payments[started.financing_payment].refunds
    assert [(entry["id"], entry["amount"]) for entry in made] == [
        (refund.provider_refund, "100.00")
    ]
    assert (refund.resource_name, after.refunded_minor) == (refund_name, 10_000)


async def test_unknown_partners_and_missing_buyer_details_are_refused(
    new_uow: Uow, financing: TabbyFinancing
) -> None:
    buyer, plan = member(), await a_plan(new_uow)
    with authenticated_as(buyer), pytest.raises(InvalidArgument) as unknown:
        await purchases.finance_plan(
            new_uow(),
            financing,
            FinancePlan(
                uuid.UUID(buyer.user_id), plan.studio, plan.id, "klarna", "layla@example.com", "r-1"
            ),
        )
    with authenticated_as(buyer), pytest.raises(InvalidArgument) as no_email:
        await purchases.finance_plan(
            new_uow(),
            financing,
            FinancePlan(uuid.UUID(buyer.user_id), plan.studio, plan.id, "tabby", "", "r-2"),
        )
    assert [v.field for v in unknown.value.violations] == ["provider"]
    assert [v.field for v in no_email.value.violations] == ["buyer_email"]


async def test_a_purchase_being_paid_in_instalments_is_not_paid_by_card_too(
    new_uow: Uow,
    financing: TabbyFinancing,
    tabby: TabbyServer,
    payments: StripePayments,
    stripe_api_base: str,
) -> None:
    """The member starts an instalment plan, tries a card (3-D Secure) with the same request
    id instead, then approves the plan after all: only the instalment plan is paid."""
    buyer, plan = member(), await a_plan(new_uow)
    started = await finance(new_uow, financing, buyer, plan, "r-1")
    card = tokenized_card(stripe_api_base, CARD_3DS)
    with pytest.raises(FailedPrecondition) as by_card:
        await buy(new_uow, payments, buyer, plan, card, "r-1")
    tabby.decide(started.financing_payment, approve=True)
    paid = await confirm(new_uow, financing, buyer, started)

    assert by_card.value.reason == "PURCHASE_FINANCED"
    assert intents_of(stripe_api_base, "purchase", started.resource_name) == []
    assert (paid.state, paid.payment_intent, paid.payment_method) == (
        PurchaseState.SUCCEEDED,
        "",
        "",
    )
    assert [e.id for e in await entitlements_of(new_uow, buyer)] == [paid.entitlement_id]


async def test_a_checkout_that_outlived_its_claim_is_not_recorded_over_a_card_payment(
    new_uow: Uow, tabby: TabbyServer, payments: StripePayments, stripe_api_base: str
) -> None:
    """An instalment attempt waits on Tabby for longer than its claim; the member, taking it
    for dead, pays by card with the same request id. The checkout Tabby then answers with is
    never recorded (unused, it expires), and the card payment stands."""
    patient = TabbyFinancing(
        tabby.api_base,
        SECRET_KEY,
        MERCHANT_CODE,
        "stride://financing",
        timeout_seconds=PATIENT_SECONDS,
    )
    buyer, plan = member(), await a_plan(new_uow)
    card = tokenized_card(stripe_api_base, CARD_OK)
    tabby.stall.hold("/api/v2/checkout")
    in_instalments = asyncio.create_task(finance(new_uow, patient, buyer, plan, "r-1"))
    await tabby.stall.holding(1)
    claim_over = utcnow() + ATTEMPT_LEASE
    with authenticated_as(buyer):
        by_card, _ = await purchases.purchase_plan(
            new_uow(),
            payments,
            PurchasePlan(uuid.UUID(buyer.user_id), plan.studio, plan.id, card, "r-1"),
            clock=lambda: claim_over,
        )
    tabby.stall.release()
    with pytest.raises(FailedPrecondition) as refused:
        await in_instalments
    with authenticated_as(buyer):
        final = await purchases.get_purchase(new_uow(), by_card.member_id, by_card.id)

    assert refused.value.reason == "PURCHASE_PAID_BY_CARD"
    assert (final.state, final.payment_intent, final.financing_payment) == (
        PurchaseState.SUCCEEDED,
        by_card.payment_intent,
        "",
    )
    assert [e.id for e in await entitlements_of(new_uow, buyer)] == [by_card.entitlement_id]


@pytest.mark.parametrize("kind", [PlanKind.CLASS_PACK, PlanKind.MONTHLY_MEMBERSHIP])
async def test_a_card_payment_for_a_purchase_paid_in_instalments_is_owed_back_not_granted(
    kind: PlanKind,
    new_uow: Uow,
    financing: TabbyFinancing,
    tabby: TabbyServer,
    payments: StripePayments,
    stripe_api_base: str,
) -> None:
    """Stripe reports a card payment naming a purchase already paid in instalments, which
    Billing's own attempts never make: nothing is granted or invoiced again, and the audit
    trail records the payment as owed back."""
    buyer, plan = member(), await a_plan(new_uow, kind)
    started = await finance(new_uow, financing, buyer, plan)
    tabby.decide(started.financing_payment, approve=True)
    paid = await confirm(new_uow, financing, buyer, started)
    customer = await payments.create_customer(paid.member_id)
    charged = await payments.charge(
        customer,
        tokenized_card(stripe_api_base, CARD_OK),
        paid.amount_minor,
        plan.currency,
        paid.idempotency_key,
        {"purchase": paid.resource_name, "plan": plan.resource_name},
    )

    await deliver(
        new_uow, event_for(stripe_api_base, "payment_intent.succeeded", charged.payment_intent)
    )

    with authenticated_as(buyer):
        after = await purchases.get_purchase(new_uow(), paid.member_id, paid.id)
        billed = await invoices.list_invoices(new_uow(), paid.member_id, 0, 10)
    uow = new_uow()
    async with uow:
        trail = await uow.audit.entries()
    assert (after.state, after.payment_intent, after.entitlement_id) == (
        PurchaseState.SUCCEEDED,
        "",
        paid.entitlement_id,
    )
    assert [e.id for e in await entitlements_of(new_uow, buyer)] == [paid.entitlement_id]
    assert [invoice.source for invoice in billed] == [paid.resource_name]
    assert [
        (entry.actor, entry.details)
        for entry in trail
        if (entry.subject, entry.action) == (paid.resource_name, "payment.owed_back")
    ] == [
        (
            f"users/{paid.member_id}",
            {
                "payment_intent": charged.payment_intent,
                "currency": "SAR",
                "amount_minor": paid.amount_minor,
                "paid_with": paid.financing_payment,
            },
        )
    ]
