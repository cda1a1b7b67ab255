"""Memberships that renew: starting one from a paid purchase (or a trial), the renewer (safe to
run more than once at a time), dunning, cancelling, changing the plan or the card, and family
members on a membership.

The membership entitlement follows the subscription: it lasts until the paid period ends plus
a grace period, moves forward at each renewal, and ends when the subscription does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from stride.billing.domain.entitlements import Entitlement, Kind, validate_grant
from stride.billing.domain.money import Line, plan_change_quote
from stride.billing.domain.payments import PaymentOutcome
from stride.billing.domain.plans import Plan
from stride.billing.domain.purchases import (
    Purchase,
    PurchaseState,
    validate_payment_method,
    validate_request_id,
)
from stride.billing.domain.subscriptions import (
    AddOn,
    Subscription,
    SubscriptionState,
    add_on_lines,
    cancel_at_period_end,
    cancel_now,
    check_add_on,
    check_member_may_cancel_now,
    check_plan_change,
    end_of_term,
    is_upgrade,
    next_period_lines,
    pause,
    renewal_failed,
    renewed,
    start_subscription,
)
from stride.billing.events.v1 import events_pb2
from stride.billing.service_layer.commands import (
    AddFamilyMember,
    ChangePaymentMethod,
    ChangePlan,
    PauseSubscription,
)
from stride.billing.service_layer.handlers import issue
from stride.billing.service_layer.invoices import issue_invoice
from stride.billing.service_layer.payments import (
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    Charges,
    PaymentProvider,
)
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.auth import require_self_or_role
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FailedPrecondition, NotFound

SUBSCRIPTION_TRIAL_STARTED = "billing.subscription.trial_started.v1"
SUBSCRIPTION_ACTIVATED = "billing.subscription.activated.v1"
SUBSCRIPTION_RENEWED = "billing.subscription.renewed.v1"
SUBSCRIPTION_PAST_DUE = "billing.subscription.past_due.v1"
SUBSCRIPTION_SUSPENDED = "billing.subscription.suspended.v1"
SUBSCRIPTION_PAUSED = "billing.subscription.paused.v1"
SUBSCRIPTION_CANCELLED = "billing.subscription.cancelled.v1"
RENEWER = "billing-renewer"  # The audit trail's actor for renewals.


def start_subscription_for(purchase: Purchase, paid: datetime) -> tuple[Entitlement, Subscription]:
    """The membership a paid first period grants, and the subscription that will renew it."""
    subscription = start_subscription(
        purchase.id,
        purchase.member_id,
        purchase.plan,
        purchase.payment_method,
        uuid.UUID(int=0),
        paid,
        purchase.trial_days,
    )
    entitlement = validate_grant(
        purchase.member_id,
        Kind.MEMBERSHIP,
        f"studios/{purchase.plan.studio}",
        0,
        paid,
        subscription.access_until,
    )
    return entitlement, replace(subscription, entitlement_id=entitlement.id)


async def list_subscriptions(
    uow: BillingUnitOfWork, member_id: uuid.UUID, offset: int, limit: int
) -> list[Subscription]:
    require_self_or_role(str(member_id), "admin")
    async with uow:
        return await uow.subscriptions.for_member(member_id, offset, limit)


async def cancel_subscription(
    uow: BillingUnitOfWork,
    member_id: uuid.UUID,
    subscription_id: uuid.UUID,
    at_period_end: bool,
    clock: Clock = utcnow,
) -> Subscription:
    require_self_or_role(str(member_id), "admin")
    async with uow:
        subscription = await _owned(uow, member_id, subscription_id)
        now = clock()
        if at_period_end:
            after = cancel_at_period_end(subscription)
        else:
            check_member_may_cancel_now(subscription, now)
            after = cancel_now(subscription, now)
            await _apply(uow, subscription, after, now)
        await uow.subscriptions.save(after, now)
        await uow.commit()
    return after


async def pause_subscription(
    uow: BillingUnitOfWork, command: PauseSubscription, clock: Clock = utcnow
) -> Subscription:
    """Freezes a membership with dates: no classes in the window, and the paid period (and the
    next renewal) move back by its length."""
    require_self_or_role(str(command.member_id), "admin")
    async with uow:
        subscription = await _owned(uow, command.member_id, command.subscription_id)
        now = clock()
        frozen = pause(subscription, command.start, command.end, now)
        for entitlement_id in frozen.entitlement_ids:
            await uow.entitlements.pause(entitlement_id, command.start, command.end)
        await _apply(uow, subscription, frozen, now)
        await uow.subscriptions.save(frozen, now)
        announce_subscription(uow, frozen, SUBSCRIPTION_PAUSED)
        await uow.commit()
    return frozen


async def change_plan(
    uow: BillingUnitOfWork, payments: Charges, command: ChangePlan, clock: Clock = utcnow
) -> Subscription:
    """Upgrades now, charging the prorated difference (a credit for the unused part of the old
    plan, the new plan for the rest of the period, VAT on each line); downgrades at the next
    renewal. Asking again for the plan it already has (or will have) changes nothing."""
    request_id = command.request_id
    require_self_or_role(str(command.member_id), "admin")
    validate_request_id(request_id)
    async with uow:
        subscription = await _owned(uow, command.member_id, command.subscription_id)
        new_plan = await uow.plans.get(command.studio, command.plan_id)
        if new_plan is None:
            raise NotFound("PLAN_NOT_FOUND", "plan.not_found")
        if new_plan.id in (subscription.plan.id, getattr(subscription.pending_plan, "id", None)):
            return subscription
        check_plan_change(subscription, new_plan)
        now = clock()
        if is_upgrade(subscription, new_plan):
            after = await _upgrade(uow, payments, subscription, new_plan, request_id, now)
        else:
            after = replace(subscription, pending_plan=new_plan)
        await uow.subscriptions.save(after, now)
        await uow.commit()
    return after


async def _upgrade(
    uow: BillingUnitOfWork,
    payments: Charges,
    subscription: Subscription,
    new_plan: Plan,
    request_id: str,
    now: datetime,
) -> Subscription:
    if not subscription.period_start <= now < subscription.period_end:
        raise FailedPrecondition("RENEWAL_PENDING", "subscription.renewal_pending")
    quote = plan_change_quote(
        new_plan.currency,
        new_plan.vat_rate_basis_points,
        subscription.plan.price_minor,
        new_plan.price_minor,
        subscription.period_start,
        subscription.period_end,
        now,
    )
    await _charge_now(
        uow,
        payments,
        subscription,
        MidPeriodCharge(
            quote.lines,
            f"change-{request_id}",
            f"changes/{request_id}",
            "subscription.upgraded",
            {"from_plan": subscription.plan.resource_name, "to_plan": new_plan.resource_name},
            FailedPrecondition("UPGRADE_DECLINED", "subscription.upgrade_declined"),
        ),
        now,
    )
    return replace(subscription, plan=new_plan, pending_plan=None)


@dataclass(frozen=True)
class MidPeriodCharge:
    """Something a member pays for in the middle of a period: what, and how it is recorded."""

    lines: tuple[Line, ...]
    key: str  # Stripe's idempotency key, after the period's renewal key.
    source: str  # What the invoice bills, after the subscription's name.
    action: str  # The audit trail's action.
    details: dict[str, object]
    declined: FailedPrecondition


async def _charge_now(
    uow: BillingUnitOfWork,
    payments: Charges,
    subscription: Subscription,
    charge: MidPeriodCharge,
    now: datetime,
) -> None:
    """Charges the holder's card off-session, then invoices, audits and announces it."""
    plan = subscription.plan
    amount = sum(item.total_minor for item in charge.lines)
    if amount == 0:  # A free add-on, or the period's last moments: nothing to charge.
        return
    customer = await uow.payments.customer(subscription.member_id)
    outcome = await payments.charge(
        customer or "",
        subscription.payment_method,
        amount,
        plan.currency,
        f"{subscription.renewal_key}-{charge.key}",
        {"subscription": subscription.resource_name},
        off_session=True,
    )
    if outcome.state is not PurchaseState.SUCCEEDED:
        raise charge.declined
    await issue_invoice(
        uow,
        subscription.member_id,
        plan.studio,
        plan.currency,
        charge.lines,
        f"{subscription.resource_name}/{charge.source}",
        now,
    )
    await uow.audit.append(
        now,
        f"users/{subscription.member_id}",
        charge.action,
        subscription.resource_name,
        {
            **charge.details,
            "currency": plan.currency,
            "amount_minor": amount,
            "payment_intent": outcome.payment_intent,
        },
    )
    uow.publish(
        PAYMENT_SUCCEEDED,
        subject=subscription.resource_name,
        payload=events_pb2.PaymentChanged(
            subscription=subscription.resource_name,
            member=f"users/{subscription.member_id}",
            currency_code=plan.currency,
            amount_minor=amount,
        ),
    )


async def add_family_member(
    uow: BillingUnitOfWork, payments: Charges, command: AddFamilyMember, clock: Clock = utcnow
) -> Subscription:
    """Adds a family member to a membership: they get a membership of their own that follows
    it, and the holder pays their add-on price for the rest of this period now (invoiced) and
    at every renewal. Adding someone already on it changes nothing."""
    holder_id, member_id, request_id = command.holder_id, command.member_id, command.request_id
    require_self_or_role(str(holder_id), "admin")
    validate_request_id(request_id)
    async with uow:
        subscription = await _owned(uow, holder_id, command.subscription_id)
        if any(add_on.member_id == member_id for add_on in subscription.add_ons):
            return subscription
        now = clock()
        check_add_on(subscription, member_id, now)
        await _charge_now(
            uow,
            payments,
            subscription,
            MidPeriodCharge(
                add_on_lines(subscription, now),
                f"member-{request_id}",
                f"members/{member_id}",
                "subscription.member_added",
                {"member": f"users/{member_id}"},
                FailedPrecondition("ADD_ON_DECLINED", "subscription.add_on_declined"),
            ),
            now,
        )
        entitlement = validate_grant(
            member_id,
            Kind.MEMBERSHIP,
            f"studios/{subscription.plan.studio}",
            0,
            now,
            subscription.access_until,
        )
        await issue(
            uow,
            entitlement,
            f"users/{holder_id}",
            "entitlement.family_member",
            {"subscription": subscription.resource_name},
            now,
        )
        if subscription.pause_start and subscription.pause_end and subscription.pause_end > now:
            await uow.entitlements.pause(
                entitlement.id, subscription.pause_start, subscription.pause_end
            )
        add_on = AddOn(member_id, entitlement.id)
        await uow.subscriptions.add_add_on(subscription.id, add_on, now)
        await uow.commit()
    return replace(subscription, add_ons=(*subscription.add_ons, add_on))


async def remove_family_member(
    uow: BillingUnitOfWork,
    holder_id: uuid.UUID,
    subscription_id: uuid.UUID,
    member_id: uuid.UUID,
    clock: Clock = utcnow,
) -> Subscription:
    """Takes a family member off a membership: theirs ends with the period already paid for,
    and renewals stop charging for them."""
    require_self_or_role(str(holder_id), "admin")
    async with uow:
        subscription = await _owned(uow, holder_id, subscription_id)
        removed = next((a for a in subscription.add_ons if a.member_id == member_id), None)
        if removed is None:
            raise NotFound("ADD_ON_NOT_FOUND", "subscription.add_on_not_found")
        now = clock()
        if subscription.state is not SubscriptionState.CANCELLED:  # Else theirs has ended.
            paid_until = min(subscription.period_end, subscription.access_until)
            await uow.entitlements.end_at(removed.entitlement_id, max(now, paid_until))
        await uow.subscriptions.remove_add_on(subscription.id, member_id)
        await uow.audit.append(
            now,
            f"users/{holder_id}",
            "subscription.member_removed",
            subscription.resource_name,
            {"member": f"users/{member_id}"},
        )
        await uow.commit()
    return replace(subscription, add_ons=tuple(a for a in subscription.add_ons if a != removed))


async def change_payment_method(
    uow: BillingUnitOfWork,
    payments: PaymentProvider,
    command: ChangePaymentMethod,
    clock: Clock = utcnow,
) -> Subscription:
    """The member's new card renews from now on; if a renewal is overdue it is charged now."""
    member_id, payment_method = command.member_id, command.payment_method
    require_self_or_role(str(member_id))
    validate_payment_method(payment_method)
    async with uow:
        subscription = await _owned(uow, member_id, command.subscription_id)
        if subscription.state is SubscriptionState.CANCELLED:
            raise FailedPrecondition("SUBSCRIPTION_CANCELLED", "subscription.cancelled")
        customer = await uow.payments.customer(member_id)
        if customer is None:  # Every subscription starts with a card payment, so one exists.
            raise LookupError(f"no payment customer for {subscription.resource_name}")
        await payments.save_card(customer, payment_method)
        subscription = replace(subscription, payment_method=payment_method)
        now = clock()
        if subscription.state is SubscriptionState.PAST_DUE:
            subscription = await _renew(uow, payments, subscription, now)
        else:
            await uow.subscriptions.save(subscription, now)
        await uow.commit()
    return subscription


async def end_refunded_subscription(
    uow: BillingUnitOfWork, subscription_id: uuid.UUID, now: datetime
) -> None:
    """A membership refunded in full ends now, in the refund's transaction."""
    subscription = await uow.subscriptions.get(subscription_id, lock=True)
    if subscription is None or subscription.state is SubscriptionState.CANCELLED:
        return
    after = cancel_now(subscription, now)
    await _apply(uow, subscription, after, now)
    await uow.subscriptions.save(after, now)


async def renew_due(
    new_uow: Callable[[], BillingUnitOfWork],
    payments: Charges,
    clock: Clock = utcnow,
    workers: int = 4,
) -> int:
    """Renews (or retries, or ends) every subscription due now; how many it handled.

    Each subscription is handled in a transaction of its own that locks it and skips ones
    another renewer holds, so renewers may run side by side or twice over."""

    async def work() -> int:
        handled = 0
        while await _renew_next(new_uow(), payments, clock()):
            handled += 1
        return handled

    return sum(await asyncio.gather(*(work() for _ in range(workers))))


async def _renew_next(uow: BillingUnitOfWork, payments: Charges, now: datetime) -> bool:
    async with uow:
        due = await uow.subscriptions.claim_due(now, limit=1)
        if not due:
            return False
        await _renew(uow, payments, due[0], now)
        await uow.commit()
    return True


async def _renew(
    uow: BillingUnitOfWork, payments: Charges, subscription: Subscription, now: datetime
) -> Subscription:
    """Charges the next period (or ends the subscription) and stores the result. The invoice
    number and the audit entry come last: both serialize every renewal until commit."""
    if subscription.ends_at_renewal:
        after = end_of_term(subscription)
        await _apply(uow, subscription, after, now)
        await uow.subscriptions.save(after, now)
        return after
    customer = await uow.payments.customer(subscription.member_id)
    plan = subscription.pending_plan or subscription.plan  # What the next period is on.
    lines = next_period_lines(subscription)
    amount = sum(item.total_minor for item in lines)
    outcome = (
        await payments.charge(
            customer or "",
            subscription.payment_method,
            amount,
            plan.currency,
            subscription.renewal_key,
            {"subscription": subscription.resource_name},
            off_session=True,
        )
        if amount
        else PaymentOutcome(PurchaseState.SUCCEEDED)  # A free first period after a trial.
    )
    paid = outcome.state is PurchaseState.SUCCEEDED
    after = renewed(subscription) if paid else renewal_failed(subscription, now)
    uow.publish(
        PAYMENT_SUCCEEDED if paid else PAYMENT_FAILED,
        subject=subscription.resource_name,
        payload=events_pb2.PaymentChanged(
            subscription=subscription.resource_name,
            member=f"users/{subscription.member_id}",
            currency_code=plan.currency,
            amount_minor=amount,
            failure_code="" if paid else outcome.failure_code or outcome.state.value,
        ),
    )
    await _apply(uow, subscription, after, now)
    await uow.subscriptions.save(after, now)
    if paid:
        await issue_invoice(
            uow,
            subscription.member_id,
            plan.studio,
            plan.currency,
            lines,
            f"{subscription.resource_name}/periods/{after.period_index}",
            now,
        )
        await uow.audit.append(
            now,
            RENEWER,
            "subscription.renewed",
            subscription.resource_name,
            {
                "period_start": after.period_start.isoformat(),
                "currency": plan.currency,
                "amount_minor": amount,
                "payment_intent": outcome.payment_intent,
            },
        )
    return after


async def _apply(
    uow: BillingUnitOfWork, before: Subscription, after: Subscription, now: datetime
) -> None:
    """Moves the membership with the subscription and says what happened."""
    if after.access_until != before.access_until:
        for entitlement_id in after.entitlement_ids:
            await uow.entitlements.end_at(entitlement_id, after.access_until)
    if after.state is SubscriptionState.CANCELLED:
        announce_subscription(uow, after, SUBSCRIPTION_CANCELLED)
    elif after.period_index > before.period_index:
        announce_subscription(
            uow, after, SUBSCRIPTION_RENEWED if before.paid else SUBSCRIPTION_ACTIVATED
        )
    elif after.state is SubscriptionState.PAST_DUE:
        suspended = after.state_at(now) is SubscriptionState.SUSPENDED
        announce_subscription(
            uow, after, SUBSCRIPTION_SUSPENDED if suspended else SUBSCRIPTION_PAST_DUE
        )


async def _owned(
    uow: BillingUnitOfWork, member_id: uuid.UUID, subscription_id: uuid.UUID
) -> Subscription:
    subscription = await uow.subscriptions.get(subscription_id, lock=True)
    if subscription is None or subscription.member_id != member_id:
        raise NotFound("SUBSCRIPTION_NOT_FOUND", "subscription.not_found")
    return subscription


def announce_subscription(
    uow: BillingUnitOfWork, subscription: Subscription, event_type: str
) -> None:
    changed = events_pb2.SubscriptionChanged(
        subscription=subscription.resource_name,
        member=f"users/{subscription.member_id}",
        plan=subscription.plan.resource_name,
        state=subscription.state.value,
        failed_renewals=subscription.failed_attempts,
    )
    changed.current_period_end_time.FromDatetime(subscription.period_end)
    if subscription.next_attempt is not None:
        changed.next_renewal_time.FromDatetime(subscription.next_attempt)
    if subscription.pause_start is not None and subscription.pause_end is not None:
        changed.pause_start_time.FromDatetime(subscription.pause_start)
        changed.pause_end_time.FromDatetime(subscription.pause_end)
    uow.publish(event_type, subject=subscription.resource_name, payload=changed)
