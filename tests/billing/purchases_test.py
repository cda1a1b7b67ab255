"""Buying class packs with the official Stripe library against localstripe and real Postgres:
paid once, however often the request or Stripe's webhooks repeat."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select, table, text

from billing.buying import (
    STUDIO,
    WEBHOOKS,
    Uow,
    a_plan,
    buy,
    deliver,
    entitlements_of,
    member,
)
from billing.stripe_support import (
    CARD_3DS,
    CARD_DECLINED,
    CARD_OK,
    complete_3ds,
    event_for,
    payment_intents,
    signed,
    stripe_client,
    tokenized_card,
)
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.domain.purchases import PurchaseState
from stride.billing.service_layer import purchases
from stride.billing.service_layer.commands import PurchasePlan
from stride.platform.auth import authenticated_as
from stride.platform.errors import (
    Aborted,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)


async def test_a_paid_pack_grants_its_credits_once(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    plan, buyer = await a_plan(new_uow), member()
    card = tokenized_card(stripe_api_base, CARD_OK)
    request_id = str(uuid.uuid4())

    first, _ = await buy(new_uow, payments, buyer, plan, card, request_id)
    retried, _ = await buy(new_uow, payments, buyer, plan, card, request_id)

    assert first.state is PurchaseState.SUCCEEDED
    assert first.amount_minor == 34_500  # SAR 300.00 + 15 % VAT, in halalas.
    assert retried == first
    (pack,) = await entitlements_of(new_uow, buyer)
    assert (pack.id, pack.credits_remaining, pack.studio) == (
        first.entitlement_id,
        10,
        f"studios/{STUDIO}",
    )
    intent = stripe_client(stripe_api_base).v1.payment_intents.retrieve(first.payment_intent)
    assert (intent.amount, intent.currency, intent.status) == (34_500, "sar", "succeeded")


async def test_concurrent_retries_charge_the_card_once(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    plan, buyer = await a_plan(new_uow), member()
    card = tokenized_card(stripe_api_base, CARD_OK)
    request_id = str(uuid.uuid4())

    results = await asyncio.gather(
        *(buy(new_uow, payments, buyer, plan, card, request_id) for _ in range(6)),
        return_exceptions=True,
    )
    # Attempts while one is in flight are told to retry; the retry gets the one purchase.
    answered = [result[0] for result in results if isinstance(result, tuple)]
    aborted = [result for result in results if isinstance(result, Aborted)]
    retried, _ = await buy(new_uow, payments, buyer, plan, card, request_id)

    assert len(answered) + len(aborted) == 6
    assert {a.reason for a in aborted} <= {"REQUEST_IN_PROGRESS"}
    assert {purchase.payment_intent for purchase in answered} == {retried.payment_intent}
    assert retried.state is PurchaseState.SUCCEEDED
    customer = next(
        intent["customer"]
        for intent in payment_intents(stripe_api_base)
        if intent["id"] == retried.payment_intent
    )
    charged = [i for i in payment_intents(stripe_api_base) if i["customer"] == customer]
    assert len(charged) == 1
    assert len(await entitlements_of(new_uow, buyer)) == 1


async def test_a_declined_card_fails_and_grants_nothing(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    plan, buyer = await a_plan(new_uow), member()
    purchase, secret = await buy(
        new_uow, payments, buyer, plan, tokenized_card(stripe_api_base, CARD_DECLINED)
    )
    assert (purchase.state, purchase.failure_code, secret) == (
        PurchaseState.FAILED,
        "card_declined",
        "",
    )
    assert await entitlements_of(new_uow, buyer) == []


async def test_3d_secure_waits_for_the_member_then_the_webhook_grants_once(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    plan, buyer = await a_plan(new_uow), member()
    card, request_id = tokenized_card(stripe_api_base, CARD_3DS), str(uuid.uuid4())
    purchase, client_secret = await buy(new_uow, payments, buyer, plan, card, request_id)
    assert purchase.state is PurchaseState.REQUIRES_ACTION
    assert client_secret
    assert await entitlements_of(new_uow, buyer) == []
    # The app lost the answer and retries: the same intent and secret, nothing charged anew.
    again, secret_again = await buy(new_uow, payments, buyer, plan, card, request_id)
    assert (again.payment_intent, secret_again) == (purchase.payment_intent, client_secret)

    complete_3ds(stripe_api_base, purchase.payment_intent, client_secret, success=True)
    succeeded = event_for(stripe_api_base, "payment_intent.succeeded", purchase.payment_intent)
    await asyncio.gather(*(deliver(new_uow, succeeded) for _ in range(100)))

    with authenticated_as(buyer):
        paid = await purchases.get_purchase(new_uow(), purchase.member_id, purchase.id)
    assert paid.state is PurchaseState.SUCCEEDED
    (pack,) = await entitlements_of(new_uow, buyer)
    assert (pack.id, pack.credits_remaining) == (paid.entitlement_id, 10)


async def test_a_late_failure_report_does_not_undo_a_payment(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    """The member fails 3-D Secure once, then passes; Stripe's two webhooks arrive reversed."""
    plan, buyer = await a_plan(new_uow), member()
    purchase, client_secret = await buy(
        new_uow, payments, buyer, plan, tokenized_card(stripe_api_base, CARD_3DS)
    )
    complete_3ds(stripe_api_base, purchase.payment_intent, client_secret, success=False)
    intents = stripe_client(stripe_api_base).v1.payment_intents
    failed = {  # What Stripe sends for this step (localstripe records no event for it).
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": "payment_intent.payment_failed",
        "data": {"object": intents.retrieve(purchase.payment_intent).to_dict()},
    }
    card = tokenized_card(stripe_api_base, CARD_OK)
    intents.update(purchase.payment_intent, params={"payment_method": card})
    intents.confirm(purchase.payment_intent)
    succeeded = event_for(stripe_api_base, "payment_intent.succeeded", purchase.payment_intent)

    await deliver(new_uow, succeeded)
    await deliver(new_uow, failed)

    with authenticated_as(buyer):
        final = await purchases.get_purchase(new_uow(), purchase.member_id, purchase.id)
    assert (final.state, final.failure_code) == (PurchaseState.SUCCEEDED, "")
    assert len(await entitlements_of(new_uow, buyer)) == 1


async def test_a_payment_whose_request_never_committed_is_still_honoured(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    """Stripe took the money but the request died before committing: the webhook rebuilds the
    purchase from the intent's metadata and grants what was paid for."""
    plan, buyer = await a_plan(new_uow), member()
    member_id, purchase_id = uuid.UUID(buyer.user_id), uuid.uuid4()
    customer = await payments.create_customer(member_id)
    outcome = await payments.charge(
        customer,
        tokenized_card(stripe_api_base, CARD_OK),
        34_500,
        "SAR",
        f"purchase-{purchase_id}",
        {"purchase": f"users/{member_id}/purchases/{purchase_id}", "plan": plan.resource_name},
    )

    await deliver(
        new_uow, event_for(stripe_api_base, "payment_intent.succeeded", outcome.payment_intent)
    )

    with authenticated_as(buyer):
        rebuilt = await purchases.get_purchase(new_uow(), member_id, purchase_id)
    assert (rebuilt.state, rebuilt.amount_minor) == (PurchaseState.SUCCEEDED, 34_500)
    assert len(await entitlements_of(new_uow, buyer)) == 1


async def test_webhooks_with_a_wrong_or_missing_signature_are_refused(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    plan, buyer = await a_plan(new_uow), member()
    purchase, client_secret = await buy(
        new_uow, payments, buyer, plan, tokenized_card(stripe_api_base, CARD_3DS)
    )
    complete_3ds(stripe_api_base, purchase.payment_intent, client_secret, success=True)
    succeeded = event_for(stripe_api_base, "payment_intent.succeeded", purchase.payment_intent)

    with pytest.raises(Unauthenticated):
        await deliver(new_uow, succeeded, secret="whsec_someone_else")
    payload, _ = signed(succeeded)
    with pytest.raises(Unauthenticated):
        await purchases.receive_stripe_event(new_uow(), WEBHOOKS, payload, "")
    assert await entitlements_of(new_uow, buyer) == []


async def row_counts(new_uow: Uow) -> dict[str, int]:
    """How many rows each of Billing's tables holds."""
    async with new_uow.args[0]() as session:
        names = await session.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        )
        return {
            name: (
                await session.execute(select(func.count()).select_from(table(name)))
            ).scalar_one()
            for name in names.scalars().all()
        }


async def test_unknown_event_types_are_acknowledged_without_effect(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    """Stripe also announces steps Billing does not act on, such as an intent's creation; even one
    carrying a paid intent leaves nothing behind but the record that it came."""
    plan, buyer = await a_plan(new_uow), member()
    purchase, client_secret = await buy(
        new_uow, payments, buyer, plan, tokenized_card(stripe_api_base, CARD_3DS)
    )
    complete_3ds(stripe_api_base, purchase.payment_intent, client_secret, success=True)
    succeeded = event_for(stripe_api_base, "payment_intent.succeeded", purchase.payment_intent)
    unhandled = [
        {**succeeded, "id": f"evt_{uuid.uuid4().hex}", "type": "payment_intent.created"},
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": "payout.paid",
            "data": {"object": {"id": "po_1", "object": "payout"}},
        },
    ]

    before = await row_counts(new_uow)
    for event in unhandled:
        await deliver(new_uow, event)
    after = await row_counts(new_uow)
    await deliver(new_uow, succeeded)  # The same intent, as the outcome Billing acts on.
    granted = await row_counts(new_uow)

    assert after == {**before, "stripe_events": before["stripe_events"] + 2}  # Receipts only.
    # The count would have shown an effect: the handled event's grant shows in it.
    assert granted["entitlements"] == after["entitlements"] + 1
    assert len(await entitlements_of(new_uow, buyer)) == 1


async def test_members_buy_for_themselves_and_see_only_their_purchases(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    plan, buyer, other = await a_plan(new_uow), member(), member()
    card = tokenized_card(stripe_api_base, CARD_OK)
    with authenticated_as(other), pytest.raises(PermissionDenied):
        await purchases.purchase_plan(
            new_uow(),
            payments,
            PurchasePlan(uuid.UUID(buyer.user_id), plan.studio, plan.id, card, "r-1"),
        )
    purchase, _ = await buy(new_uow, payments, buyer, plan, card)
    with authenticated_as(other), pytest.raises(PermissionDenied):
        await purchases.get_purchase(new_uow(), purchase.member_id, purchase.id)
    with authenticated_as(other), pytest.raises(NotFound):
        await purchases.get_purchase(new_uow(), uuid.UUID(other.user_id), purchase.id)


async def test_bad_purchases_are_refused_before_anything_is_charged(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    pack = await a_plan(new_uow)
    buyer, card = member(), tokenized_card(stripe_api_base, CARD_OK)
    with pytest.raises(InvalidArgument) as raw_card:
        await buy(new_uow, payments, buyer, pack, CARD_OK)  # A card number, not a token.
    with pytest.raises(InvalidArgument) as unknown:
        await buy(new_uow, payments, buyer, pack, "pm_doesnotexist")
    with pytest.raises(NotFound), authenticated_as(buyer):
        await purchases.purchase_plan(
            new_uow(),
            payments,
            PurchasePlan(uuid.UUID(buyer.user_id), pack.studio, uuid.uuid4(), card, "r-1"),
        )
    with pytest.raises(InvalidArgument) as no_request_id, authenticated_as(buyer):
        await purchases.purchase_plan(
            new_uow(),
            payments,
            PurchasePlan(uuid.UUID(buyer.user_id), pack.studio, pack.id, card, ""),
        )
    assert [v.field for v in raw_card.value.violations] == ["payment_method"]
    assert [v.field for v in unknown.value.violations] == ["payment_method"]
    assert [v.field for v in no_request_id.value.violations] == ["request_id"]
    assert await entitlements_of(new_uow, buyer) == []
