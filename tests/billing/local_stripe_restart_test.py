"""`./pants up` restarted: localstripe comes back with the customers, cards and payments Billing
remembers, so members who saved a card still see it, still renew with it, and still buy."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from billing.buying import Uow, a_plan, buy, current, member
from billing.stripe_support import API_KEY, CARD_OK, tokenized_card
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.domain.plans import PlanKind
from stride.billing.domain.purchases import PurchaseState
from stride.billing.domain.subscriptions import SubscriptionState
from stride.billing.service_layer import subscriptions
from stride.billing.service_layer.payments import list_payment_methods
from stride.platform.auth import authenticated_as
from stride.platform.local.stripe_emulator import LocalStripe


async def test_members_keep_their_cards_and_payments_when_localstripe_restarts(
    new_uow: Uow, tmp_path: Path
) -> None:
    store = tmp_path / "stripe" / "store.pickle"
    emulator = LocalStripe(tmp_path, store=store)
    emulator.start()
    payments = StripePayments(API_KEY, emulator.api_base)
    try:
        buyer = member()
        card = tokenized_card(emulator.api_base, CARD_OK)
        bought, _ = await buy(
            new_uow, payments, buyer, await a_plan(new_uow, PlanKind.MONTHLY_MEMBERSHIP), card
        )
        started = await current(new_uow, buyer)

        emulator.stop()
        emulator = LocalStripe(tmp_path, emulator.port, store)
        emulator.start()

        with authenticated_as(buyer):
            cards = await list_payment_methods(new_uow(), payments, uuid.UUID(buyer.user_id))
        paid = await payments.payment(bought.payment_intent)
        due = started.period_end + timedelta(minutes=1)
        await subscriptions.renew_due(new_uow, payments, clock=lambda: due)
        renewed = await current(new_uow, buyer)
        pack, _ = await buy(new_uow, payments, buyer, await a_plan(new_uow), card)
    finally:
        await payments.close()
        emulator.stop()

    assert [saved.payment_method for saved in cards] == [card]
    assert paid.state is PurchaseState.SUCCEEDED
    assert (renewed.state, renewed.period_index) == (SubscriptionState.ACTIVE, 1)
    assert pack.state is PurchaseState.SUCCEEDED
