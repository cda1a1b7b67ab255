"""Refunds through Stripe (localstripe) by managers only, never more than was paid, each one
written to the hash-chained audit trail."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import pytest

from billing.buying import MANAGER, Uow, a_plan, buy, entitlements_of, member
from billing.stripe_support import CARD_DECLINED, CARD_OK, stripe_client, tokenized_card
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.domain.plans import PlanKind
from stride.billing.domain.purchases import Purchase, Refund
from stride.billing.domain.subscriptions import SubscriptionState
from stride.billing.entrypoints.audit import verify
from stride.billing.service_layer import purchases, subscriptions
from stride.billing.service_layer.commands import RefundPurchase
from stride.platform.auth import Principal, authenticated_as
from stride.platform.errors import (
    Aborted,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)


async def paid(new_uow: Uow, payments: StripePayments, api_base: str) -> Purchase:
    buyer = member()
    purchase, _ = await buy(
        new_uow, payments, buyer, await a_plan(new_uow), tokenized_card(api_base, CARD_OK)
    )
    return purchase


async def refund(
    new_uow: Uow,
    payments: StripePayments,
    purchase: Purchase,
    amount_minor: int | None,
    request_id: str | None = None,
    by: Principal = MANAGER,
    reason: str = "Studio closed for maintenance",
) -> tuple[Refund, Purchase]:
    with authenticated_as(by):
        return await purchases.refund_purchase(
            new_uow(),
            payments,
            None,
            RefundPurchase(
                purchase.member_id,
                purchase.id,
                amount_minor,
                "SAR" if amount_minor is not None else None,
                reason,
                request_id or str(uuid.uuid4()),
            ),
        )


def stripe_refunds(api_base: str, payment_intent: str) -> list[int]:
    listed = stripe_client(api_base).v1.refunds.list(params={"payment_intent": payment_intent})
    return sorted(int(made.amount) for made in listed.data)


async def test_a_partial_then_a_full_refund_gives_back_what_was_paid_and_no_more(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str, database_url: str
) -> None:
    purchase = await paid(new_uow, payments, stripe_api_base)  # SAR 345.00 with VAT.
    first, after_first = await refund(new_uow, payments, purchase, 10_000)
    rest, after_rest = await refund(new_uow, payments, purchase, None)
    with pytest.raises(FailedPrecondition) as again:
        await refund(new_uow, payments, purchase, 1)

    assert (first.amount_minor, after_first.refunded_minor) == (10_000, 10_000)
    assert (rest.amount_minor, after_rest.refunded_minor) == (24_500, 34_500)
    assert again.value.reason == "ALREADY_REFUNDED"
    assert stripe_refunds(stripe_api_base, purchase.payment_intent) == [10_000, 24_500]
    buyer = Principal(user_id=str(purchase.member_id), roles=frozenset({"member"}))
    (pack,) = await entitlements_of(new_uow, buyer)
    assert pack.credits_remaining == 0  # Refunded in full: the unused classes go back too.
    entries, broken = await verify(database_url)
    assert broken is None
    assert entries >= 2


async def test_a_retried_refund_refunds_once(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    purchase = await paid(new_uow, payments, stripe_api_base)
    results = await asyncio.gather(
        *(refund(new_uow, payments, purchase, 5_000, request_id="goodwill") for _ in range(5)),
        return_exceptions=True,
    )
    # Attempts while one is in flight are told to retry; the retry gets the one refund.
    answered = [made for made, _ in (r for r in results if isinstance(r, tuple))]
    aborted = [r for r in results if isinstance(r, Aborted)]
    retried, after = await refund(new_uow, payments, purchase, 5_000, request_id="goodwill")

    assert len(answered) + len(aborted) == 5
    assert {made.id for made in answered} == {retried.id}
    assert after.refunded_minor == 5_000
    assert stripe_refunds(stripe_api_base, purchase.payment_intent) == [5_000]


async def test_concurrent_refunds_never_exceed_the_payment(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    purchase = await paid(new_uow, payments, stripe_api_base)
    results = await asyncio.gather(
        *(refund(new_uow, payments, purchase, 20_000) for _ in range(4)), return_exceptions=True
    )
    made = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, InvalidArgument)]
    assert (len(made), len(refused)) == (1, 3)
    assert stripe_refunds(stripe_api_base, purchase.payment_intent) == [20_000]


async def test_only_the_studio_s_managers_refund(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    purchase = await paid(new_uow, payments, stripe_api_base)
    buyer = Principal(user_id=str(purchase.member_id), roles=frozenset({"member"}))
    elsewhere = Principal(
        user_id=str(uuid.uuid4()), roles=frozenset({"manager"}), studio="studios/elsewhere"
    )
    for outsider in (buyer, elsewhere):
        with pytest.raises(PermissionDenied):
            await refund(new_uow, payments, purchase, 1_000, by=outsider)
    assert stripe_refunds(stripe_api_base, purchase.payment_intent) == []


async def test_a_manager_of_another_studio_cannot_tell_whether_a_purchase_exists(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    """AIP-211: whoever may not refund a purchase is refused before anything else is looked
    at, alike for another studio's purchase, one that does not exist, and one under another
    member's name; only an admin, who may refund anywhere, is told that one does not exist."""
    purchase = await paid(new_uow, payments, stripe_api_base)
    elsewhere = Principal(
        user_id=str(uuid.uuid4()), roles=frozenset({"manager"}), studio="studios/elsewhere"
    )
    admin = Principal(user_id=str(uuid.uuid4()), roles=frozenset({"admin"}))
    missing = replace(purchase, id=uuid.uuid4())
    misnamed = replace(purchase, member_id=uuid.uuid4())

    answers = []
    for named in (purchase, missing, misnamed):
        for request_id in ("r-1", ""):  # An empty request id is not looked at either.
            with authenticated_as(elsewhere), pytest.raises(DomainError) as refused:
                await purchases.refund_purchase(
                    new_uow(),
                    payments,
                    None,
                    RefundPurchase(named.member_id, named.id, 1_000, "SAR", "Sorry", request_id),
                )
            answers.append((type(refused.value), refused.value.reason, refused.value.message_key))
    with authenticated_as(admin), pytest.raises(NotFound):
        await purchases.refund_purchase(
            new_uow(),
            payments,
            None,
            RefundPurchase(missing.member_id, missing.id, 1_000, "SAR", "Sorry", "r-1"),
        )

    assert set(answers) == {(PermissionDenied, "PERMISSION_DENIED", "error.permission_denied")}
    assert stripe_refunds(stripe_api_base, purchase.payment_intent) == []


async def test_bad_refunds_are_refused_before_stripe_is_asked(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    purchase = await paid(new_uow, payments, stripe_api_base)
    with pytest.raises(InvalidArgument) as too_much:
        await refund(new_uow, payments, purchase, purchase.amount_minor + 1)
    with pytest.raises(InvalidArgument) as no_reason:
        await refund(new_uow, payments, purchase, 100, reason="  ")
    with pytest.raises(InvalidArgument) as other_currency, authenticated_as(MANAGER):
        await purchases.refund_purchase(
            new_uow(),
            payments,
            None,
            RefundPurchase(purchase.member_id, purchase.id, 100, "USD", "Sorry", "r-usd"),
        )
    declined, _ = await buy(
        new_uow,
        payments,
        member(),
        await a_plan(new_uow),
        tokenized_card(stripe_api_base, CARD_DECLINED),
    )
    with pytest.raises(FailedPrecondition) as unpaid:
        await refund(new_uow, payments, declined, None)

    assert [v.field for v in too_much.value.violations] == ["amount.amount_minor"]
    assert [v.field for v in no_reason.value.violations] == ["reason"]
    assert [v.field for v in other_currency.value.violations] == ["amount.currency_code"]
    assert unpaid.value.reason == "PURCHASE_NOT_PAID"
    assert stripe_refunds(stripe_api_base, purchase.payment_intent) == []


async def test_a_membership_refunded_in_full_ends_now(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer = member()
    plan = await a_plan(new_uow, PlanKind.MONTHLY_MEMBERSHIP)
    purchase, _ = await buy(
        new_uow, payments, buyer, plan, tokenized_card(stripe_api_base, CARD_OK)
    )
    await refund(new_uow, payments, purchase, None)

    with authenticated_as(buyer):
        (ended,) = await subscriptions.list_subscriptions(new_uow(), purchase.member_id, 0, 10)
    (membership,) = await entitlements_of(new_uow, buyer)
    assert (ended.state, ended.next_attempt) == (SubscriptionState.CANCELLED, None)
    assert membership.expire == ended.cancelled
