"""During a rolling deploy the pods of the release before migrations 0015-0018 run beside the
new ones, writing rows as they always did: naming only the columns they know. Every column
those migrations added is nullable or has a server default, so their writes still succeed,
and the new code reads what they wrote as what it was: their refunds were answered before
they were recorded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import TextClause, text

from billing.buying import MANAGER, Uow, a_plan, buy, member
from billing.stripe_support import CARD_OK, tokenized_card
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.domain.purchases import PurchaseState, RefundState

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)

# The statements as the previous release's repositories issued them.
OLD_PURCHASE = text(
    "INSERT INTO purchases (id, member_id, plan_id, amount_minor, currency, state,"
    " payment_method, trial_days, created_at, updated_at)"
    " VALUES (:id, :member_id, :plan_id, 34500, 'SAR', 'processing', 'pm_card_visa', 0,"
    " :now, :now)"
)
OLD_REFUND = text(
    "INSERT INTO refunds (id, member_id, purchase_id, amount_minor, currency, reason,"
    " refunded_by, provider_refund, created_at)"
    " VALUES (:id, :member_id, :purchase_id, 10000, 'SAR', 'Moved away', :refunded_by,"
    " 're_old_pod', :now)"
)
OLD_FEE = text(
    "INSERT INTO fees (id, member_id, studio, booking, kind, currency, amount_minor, state,"
    " payment_intent, created_at)"
    " VALUES (:id, :member_id, 'olaya', :booking, 'late_cancel', 'SAR', 5000, 'paid',"
    " 'pi_old_pod', :now)"
)


async def written_by_an_old_pod(new_uow: Uow, statement: TextClause, **values: Any) -> None:
    async with new_uow.args[0]() as session:
        await session.execute(statement, {"now": NOW, **values})
        await session.commit()


async def test_an_old_pod_s_purchases_are_still_written_and_read_as_unclaimed(
    new_uow: Uow,
) -> None:
    plan, purchase_id = await a_plan(new_uow), uuid.uuid4()

    await written_by_an_old_pod(
        new_uow, OLD_PURCHASE, id=purchase_id, member_id=uuid.uuid4(), plan_id=plan.id
    )

    uow = new_uow()
    async with uow:
        purchase = await uow.payments.purchase(purchase_id)
    assert purchase is not None
    assert (purchase.state, purchase.attempt_until) == (PurchaseState.PROCESSING, None)


async def test_an_old_pod_s_refunds_are_still_written_and_read_as_answered(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer, refund_id = member(), uuid.uuid4()
    paid, _ = await buy(
        new_uow, payments, buyer, await a_plan(new_uow), tokenized_card(stripe_api_base, CARD_OK)
    )

    await written_by_an_old_pod(
        new_uow,
        OLD_REFUND,
        id=refund_id,
        member_id=paid.member_id,
        purchase_id=paid.id,
        refunded_by=uuid.UUID(MANAGER.user_id),
    )

    uow = new_uow()
    async with uow:
        refund = await uow.payments.refund(refund_id)
        pending = await uow.payments.pending_refunds(paid.id)
    assert refund is not None
    assert (refund.state, refund.attempt_until, refund.provider_refund) == (
        RefundState.SUCCEEDED,
        None,
        "re_old_pod",
    )
    assert pending == 0  # Nothing of it is waiting for the provider.


async def test_an_old_pod_s_fees_are_still_written(
    new_uow: Uow,
) -> None:
    fee_id = uuid.uuid4()

    await written_by_an_old_pod(
        new_uow,
        OLD_FEE,
        id=fee_id,
        member_id=uuid.uuid4(),
        booking=f"users/{uuid.uuid4()}/bookings/{uuid.uuid4()}",
    )

    async with new_uow.args[0]() as session:
        stored = (
            await session.execute(
                text(
                    "SELECT state, vat_minor, customer, payment_method, claimed_until"
                    " FROM fees WHERE id = :id"
                ),
                {"id": fee_id},
            )
        ).one()
    assert tuple(stored) == ("paid", 0, "", "", None)
