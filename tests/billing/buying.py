"""What the purchase and refund tests share: a studio's plans, members, and buying through
the service layer with the real Stripe adapter (localstripe, see `payments`) or in
instalments through Tabby's (a stand-in speaking its API, see `financing`), and Stripe's
webhooks as Billing receives them."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import Any

from sqlmodel import col, select

from billing.stripe_support import (
    CARD_OK,
    WEBHOOK_SECRET,
    payment_intents,
    signed,
    tokenized_card,
)
from stride.billing.adapters.stripe_payments import StripePayments, StripeWebhooks
from stride.billing.adapters.tabby_financing import TabbyFinancing
from stride.billing.domain.entitlements import Entitlement
from stride.billing.domain.plans import Plan, PlanKind
from stride.billing.domain.purchases import Purchase
from stride.billing.domain.subscriptions import Subscription
from stride.billing.service_layer import handlers, plans, purchases, subscriptions
from stride.billing.service_layer.commands import ChangePlan, CreatePlan, FinancePlan, PurchasePlan
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.auth import Principal, authenticated_as
from stride.platform.events.outbox import OutboxRecord

STUDIO = "olaya"
MANAGER = Principal(
    user_id=str(uuid.uuid4()), roles=frozenset({"manager"}), studio=f"studios/{STUDIO}"
)
Uow = partial[BillingUnitOfWork]
WEBHOOKS = StripeWebhooks(WEBHOOK_SECRET, tolerance_seconds=300)


async def a_plan(new_uow: Uow, kind: PlanKind = PlanKind.CLASS_PACK) -> Plan:
    pack = kind is PlanKind.CLASS_PACK
    with authenticated_as(MANAGER):
        return await plans.create_plan(
            new_uow(),
            CreatePlan(
                STUDIO,
                "Ten classes",
                "عشر حصص",
                kind,
                "SAR",
                30_000,
                1500,
                10 if pack else 0,
                30 if pack else 0,
            ),
        )


async def a_premium_plan(new_uow: Uow) -> Plan:
    with authenticated_as(MANAGER):
        return await plans.create_plan(
            new_uow(),
            CreatePlan(STUDIO, "Premium", "مميز", PlanKind.MONTHLY_MEMBERSHIP, "SAR", 60_000, 1500),
        )


def member() -> Principal:
    return Principal(user_id=str(uuid.uuid4()), roles=frozenset({"member"}))


async def buy(
    new_uow: Uow,
    payments: StripePayments,
    buyer: Principal,
    plan: Plan,
    payment_method: str,
    request_id: str | None = None,
) -> tuple[Purchase, str]:
    with authenticated_as(buyer):
        return await purchases.purchase_plan(
            new_uow(),
            payments,
            PurchasePlan(
                uuid.UUID(buyer.user_id),
                plan.studio,
                plan.id,
                payment_method,
                request_id or str(uuid.uuid4()),
            ),
        )


async def deliver(new_uow: Uow, event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> None:
    """Stripe's webhook of `event`, signed with `secret`, as Billing receives it."""
    payload, signature = signed(event, secret)
    await purchases.receive_stripe_event(new_uow(), WEBHOOKS, payload, signature)


async def finance(
    new_uow: Uow,
    financing: TabbyFinancing,
    buyer: Principal,
    plan: Plan,
    request_id: str | None = None,
) -> Purchase:
    with authenticated_as(buyer):
        return await purchases.finance_plan(
            new_uow(),
            financing,
            FinancePlan(
                uuid.UUID(buyer.user_id),
                plan.studio,
                plan.id,
                "tabby",
                "layla@example.com",
                request_id or str(uuid.uuid4()),
            ),
        )


async def confirm(
    new_uow: Uow, financing: TabbyFinancing, buyer: Principal, purchase: Purchase
) -> Purchase:
    with authenticated_as(buyer):
        return await purchases.confirm_financing(
            new_uow(), financing, purchase.member_id, purchase.id
        )


async def entitlements_of(new_uow: Uow, buyer: Principal) -> list[Entitlement]:
    with authenticated_as(buyer):
        return await handlers.list_entitlements(new_uow(), uuid.UUID(buyer.user_id), 0, 100)


async def announced(new_uow: Uow, subject: str) -> list[str]:
    """The types of the events Billing published about `subject`, oldest first (its outbox)."""
    async with new_uow.args[0]() as session:
        payloads = await session.execute(
            select(OutboxRecord.payload).order_by(col(OutboxRecord.position))
        )
        envelopes = [Envelope.FromString(payload) for payload in payloads.scalars()]
    return [envelope.type for envelope in envelopes if envelope.subject == subject]


async def subscribed(
    new_uow: Uow, payments: StripePayments, api_base: str
) -> tuple[Principal, Subscription]:
    """A member with a monthly membership, paid with a card that keeps paying."""
    buyer = member()
    plan = await a_plan(new_uow, PlanKind.MONTHLY_MEMBERSHIP)
    await buy(new_uow, payments, buyer, plan, tokenized_card(api_base, CARD_OK))
    return buyer, await current(new_uow, buyer)


async def current(new_uow: Uow, buyer: Principal) -> Subscription:
    """The member's one subscription, as it stands."""
    with authenticated_as(buyer):
        (subscription,) = await subscriptions.list_subscriptions(
            new_uow(), uuid.UUID(buyer.user_id), 0, 10
        )
    return subscription


def renewal_charges(api_base: str, subscription: Subscription) -> int:
    """How many PaymentIntents Stripe holds for the subscription."""
    return sum(
        1
        for intent in payment_intents(api_base)
        if intent.get("metadata", {}).get("subscription") == subscription.resource_name
    )


async def switch(
    new_uow: Uow,
    payments: StripePayments,
    buyer: Principal,
    subscription: Subscription,
    plan: Plan,
    request_id: str,
    moment: datetime,
) -> Subscription:
    with authenticated_as(buyer):
        return await subscriptions.change_plan(
            new_uow(),
            payments,
            ChangePlan(subscription.member_id, subscription.id, plan.studio, plan.id, request_id),
            clock=lambda: moment,
        )
