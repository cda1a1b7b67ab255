"""Paying in instalments through Tabby's Checkout API (a local server speaking it): nothing is
granted until Tabby approves and we capture; retries start no second checkout."""

from __future__ import annotations

import uuid

import pytest

from billing.buying import MANAGER, Uow, a_plan, confirm, entitlements_of, finance, member
from billing.tabby_server import TabbyServer
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.adapters.tabby_financing import TabbyFinancing
from stride.billing.domain.purchases import Purchase, PurchaseState, refund_id
from stride.billing.service_layer import purchases
from stride.billing.service_layer.commands import FinancePlan, RefundPurchase
from stride.platform.auth import authenticated_as
from stride.platform.errors import InvalidArgument


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
