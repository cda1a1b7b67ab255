"""Memberships that renew: starting one from a paid purchase (or a trial), the renewer (safe to
run more than once at a time), dunning, cancelling, changing the plan or the card, and family
members on a membership.

The membership entitlement follows the subscription: it lasts until the paid period ends plus
a grace period, moves forward at each renewal, and ends when the subscription does.

Every charge of a subscription's card is reserved, charged and settled (see
`domain.payments`): the reservation (a `SubscriptionCharge`) is written in one short
transaction, the card is charged with none open, and the answer is applied in another. While
it is in flight nothing else changes the subscription (ABORTED: try again in a moment). If an
attempt dies between charging and applying, the renewer repeats the charge once its claim has
run out, with the same idempotency key and parameters, and applies it; a retry of the member's
request with the same request id does the same at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from stride.billing.domain.audit import Decision
from stride.billing.domain.entitlements import Entitlement, Kind, validate_grant
from stride.billing.domain.money import Line, plan_change_quote
from stride.billing.domain.payments import (
    ATTEMPT_LEASE,
    SAVED_CARD_GONE,
    CustomerGone,
    PaymentOutcome,
    claimable,
)
from stride.billing.domain.purchases import (
    Purchase,
    PurchaseState,
    validate_payment_method,
    validate_request_id,
)
from stride.billing.domain.subscriptions import (
    AddOn,
    ChargePurpose,
    Subscription,
    SubscriptionCharge,
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
from stride.billing.service_layer.invoices import Billed, issue_invoices
from stride.billing.service_layer.payments import (
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    Charges,
    PaymentProvider,
    replace_gone_customer,
)
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.auth import require_self_or_role
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import Aborted, FailedPrecondition, NotFound

SUBSCRIPTION_TRIAL_STARTED = "billing.subscription.trial_started.v1"
SUBSCRIPTION_ACTIVATED = "billing.subscription.activated.v1"
SUBSCRIPTION_RENEWED = "billing.subscription.renewed.v1"
SUBSCRIPTION_PAST_DUE = "billing.subscription.past_due.v1"
SUBSCRIPTION_SUSPENDED = "billing.subscription.suspended.v1"
SUBSCRIPTION_PAUSED = "billing.subscription.paused.v1"
SUBSCRIPTION_CANCELLED = "billing.subscription.cancelled.v1"
RENEWER = "billing-renewer"  # The audit trail's actor for renewals.
# Subscriptions a renewal worker takes at once: one transaction claims them, their charges go
# to the provider side by side, and one more settles them.
RENEWAL_BATCH = 20

_log = logging.getLogger("stride.billing.subscriptions")


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
        subscription = await _owned_and_idle(uow, member_id, subscription_id)
        now = clock()
        if at_period_end:
            after = cancel_at_period_end(subscription)
            await uow.subscriptions.save(after, now)
        else:
            check_member_may_cancel_now(subscription, now)
            after = cancel_now(subscription, now)
            await _move(uow, subscription, after, now)
        await uow.commit()
    return after


async def pause_subscription(
    uow: BillingUnitOfWork, command: PauseSubscription, clock: Clock = utcnow
) -> Subscription:
    """Freezes a membership with dates: no classes in the window, and the paid period (and the
    next renewal) move back by its length."""
    require_self_or_role(str(command.member_id), "admin")
    async with uow:
        subscription = await _owned_and_idle(uow, command.member_id, command.subscription_id)
        now = clock()
        frozen = pause(subscription, command.start, command.end, now)
        for entitlement_id in frozen.entitlement_ids:
            await uow.entitlements.pause(entitlement_id, command.start, command.end)
        await _move(uow, subscription, frozen, now)
        announce_subscription(uow, frozen, SUBSCRIPTION_PAUSED)
        await uow.commit()
    return frozen


async def change_plan(
    uow: BillingUnitOfWork, payments: Charges, command: ChangePlan, clock: Clock = utcnow
) -> Subscription:
    """Upgrades now, charging the prorated difference (a credit for the unused part of the old
    plan, the new plan for the rest of the period, VAT on each line); downgrades at the next
    renewal. Asking again for the plan it already has (or will have) changes nothing."""
    require_self_or_role(str(command.member_id), "admin")
    validate_request_id(command.request_id)
    now = clock()
    async with uow:
        subscription = await _owned(uow, command.member_id, command.subscription_id)
        new_plan = await uow.plans.get(command.studio, command.plan_id)
        if new_plan is None:
            raise NotFound("PLAN_NOT_FOUND", "plan.not_found")
        if new_plan.id in (subscription.plan.id, getattr(subscription.pending_plan, "id", None)):
            return subscription
        check_plan_change(subscription, new_plan)
        if not is_upgrade(subscription, new_plan):
            await _check_idle(uow, subscription)
            after = replace(subscription, pending_plan=new_plan)
            await uow.subscriptions.save(after, now)
            await uow.commit()
            return after
        if not subscription.period_start <= now < subscription.period_end:
            raise FailedPrecondition("RENEWAL_PENDING", "subscription.renewal_pending")
        change = _new_charge(
            subscription,
            f"{subscription.renewal_key}-change-{command.request_id}",
            ChargePurpose.PLAN_CHANGE,
            plan_change_quote(
                new_plan.currency,
                new_plan.vat_rate_basis_points,
                subscription.plan.price_minor,
                new_plan.price_minor,
                subscription.period_start,
                subscription.period_end,
                now,
            ).lines,
            f"changes/{command.request_id}",
            new_plan.id,
            await _customer(uow, subscription),
            now,
        )
        charge = await _reserve(uow, subscription, change, now)
        await uow.commit()
    declined = FailedPrecondition("UPGRADE_DECLINED", "subscription.upgrade_declined")
    return await _charge_now(uow, payments, charge, declined, clock)


async def add_family_member(
    uow: BillingUnitOfWork, payments: Charges, command: AddFamilyMember, clock: Clock = utcnow
) -> Subscription:
    """Adds a family member to a membership: they get a membership of their own that follows
    it, and the holder pays their add-on price for the rest of this period now (invoiced) and
    at every renewal. Adding someone already on it changes nothing."""
    require_self_or_role(str(command.holder_id), "admin")
    validate_request_id(command.request_id)
    now = clock()
    async with uow:
        subscription = await _owned(uow, command.holder_id, command.subscription_id)
        if any(add_on.member_id == command.member_id for add_on in subscription.add_ons):
            return subscription
        check_add_on(subscription, command.member_id, now)
        add_on = _new_charge(
            subscription,
            f"{subscription.renewal_key}-member-{command.request_id}",
            ChargePurpose.ADD_ON,
            add_on_lines(subscription, now),
            f"members/{command.member_id}",
            command.member_id,
            await _customer(uow, subscription),
            now,
        )
        charge = await _reserve(uow, subscription, add_on, now)
        await uow.commit()
    declined = FailedPrecondition("ADD_ON_DECLINED", "subscription.add_on_declined")
    return await _charge_now(uow, payments, charge, declined, clock)


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
        subscription = await _owned_and_idle(uow, holder_id, subscription_id)
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
    """The member's new card renews from now on; if a renewal is overdue it is charged now.
    The card is saved with Stripe before anything is reserved (saving it twice is harmless)."""
    require_self_or_role(str(command.member_id))
    validate_payment_method(command.payment_method)
    async with uow:
        subscription = await _owned_and_idle(uow, command.member_id, command.subscription_id)
        if subscription.state is SubscriptionState.CANCELLED:
            raise FailedPrecondition("SUBSCRIPTION_CANCELLED", "subscription.cancelled")
        customer = await uow.payments.customer(command.member_id)
    if customer is None:  # Every subscription starts with a card payment, so one exists.
        raise LookupError(f"no payment customer for {subscription.resource_name}")
    try:
        await payments.save_card(customer, command.payment_method)
    except CustomerGone:  # Deleted at Stripe, with the old card: the new one starts anew.
        customer = await replace_gone_customer(uow, payments, command.member_id, customer)
        await payments.save_card(customer, command.payment_method)
    now = clock()
    async with uow:
        subscription = await _owned_and_idle(uow, command.member_id, command.subscription_id)
        if subscription.state is SubscriptionState.CANCELLED:
            raise FailedPrecondition("SUBSCRIPTION_CANCELLED", "subscription.cancelled")
        subscription = replace(subscription, payment_method=command.payment_method)
        await uow.subscriptions.save(subscription, now)
        charge = None
        if subscription.state is SubscriptionState.PAST_DUE:
            charge = await _reserve_renewal(uow, subscription, now)
        await uow.commit()
    if charge is None:
        return subscription
    return await _charge_now(uow, payments, charge, None, clock)


async def end_refunded_subscription(
    uow: BillingUnitOfWork, subscription_id: uuid.UUID, now: datetime
) -> None:
    """A membership refunded in full ends now, in the refund's transaction. No charge of its
    card is in flight: the refund was reserved only once none was, and none starts while the
    refund is pending."""
    subscription = await uow.subscriptions.get(subscription_id, lock=True)
    if subscription is None or subscription.state is SubscriptionState.CANCELLED:
        return
    await _move(uow, subscription, cancel_now(subscription, now), now)


async def renew_due(
    new_uow: Callable[[], BillingUnitOfWork],
    payments: Charges,
    clock: Clock = utcnow,
    workers: int = 4,
    batch: int = RENEWAL_BATCH,
) -> int:
    """Renews (or retries, or ends) every subscription due now, and completes every charge an
    attempt left in flight; how many it handled.

    Each worker takes up to `batch` at a time: claimed and reserved in one short transaction
    that skips what another renewer holds, so renewers may run side by side or twice over;
    charged with no transaction open, `workers` charges at the provider at once across the
    run (as many as before batching: a provider limits its callers' rate); and settled
    together in one more, each charge once. When a worker fails
    (the card's provider is down), the others are cancelled and waited for before its error
    is raised: a failed run leaves no worker charging on its own, even after shutdown has
    closed the provider's client. The charges they had in flight stay claimed, and a later
    run completes them once their claims run out."""

    at_provider = asyncio.Semaphore(workers)

    async def charge(charge: SubscriptionCharge) -> PaymentOutcome:
        async with at_provider:
            return await _charge_card(payments, charge)

    async def work() -> int:
        handled = 0
        while taken := await _renew_batch(new_uow, charge, clock(), batch):
            handled += taken
        return handled

    try:
        async with asyncio.TaskGroup() as group:
            runs = [group.create_task(work()) for _ in range(workers)]
    except ExceptionGroup as failed:
        # The first failure is the run's; another worker failing at the same moment has
        # most likely met the same outage, and is logged.
        for other in failed.exceptions[1:]:
            _log.error("another renewal worker failed", exc_info=other)
        raise failed.exceptions[0] from None
    return sum(run.result() for run in runs)


async def _renew_batch(
    new_uow: Callable[[], BillingUnitOfWork],
    charge_card: Callable[[SubscriptionCharge], Coroutine[Any, Any, PaymentOutcome]],
    now: datetime,
    size: int,
) -> int:
    """Handles up to `size` charges whose attempts died, else up to `size` subscriptions due;
    how many (0: none is). The answers that came are applied even when a charge failed; a
    charge whose provider did not answer stays claimed until its claim runs out, and a later
    run repeats it."""
    uow = new_uow()
    async with uow:
        charges = await uow.subscriptions.claim_stale_charges(now, now + ATTEMPT_LEASE, size)
        taken = len(charges)
        if not charges:
            due = await uow.subscriptions.claim_due(now, limit=size)
            if not due:
                return 0
            taken = len(due)
            charges = await _start_renewals(uow, due, now)
        await uow.commit()
    answered, failure = await _charge_all(charge_card, charges)
    if answered:
        await _settle_batch(new_uow, answered, now)
    if failure is not None:
        raise failure
    return taken


async def _charge_all(
    charge_card: Callable[[SubscriptionCharge], Coroutine[Any, Any, PaymentOutcome]],
    charges: list[SubscriptionCharge],
) -> tuple[list[tuple[SubscriptionCharge, PaymentOutcome]], BaseException | None]:
    """Charges the cards side by side: the answers that came, and the first failure. Once a
    charge fails (the provider is down), those still waiting are given up on: they stay
    claimed, and a later run repeats them with the same idempotency keys."""
    calls = [asyncio.create_task(charge_card(charge)) for charge in charges]
    try:
        if calls:
            await asyncio.wait(calls, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
    done = [
        (charge, call) for charge, call in zip(charges, calls, strict=True) if not call.cancelled()
    ]
    failures = [call.exception() for _, call in done if call.exception() is not None]
    answered = [(charge, call.result()) for charge, call in done if call.exception() is None]
    return answered, failures[0] if failures else None


async def _start_renewals(
    uow: BillingUnitOfWork, due: list[Subscription], now: datetime
) -> list[SubscriptionCharge]:
    """Ends the subscriptions whose term is over, renews those whose next period is free, and
    reserves the charges of the others' next periods. `claim_due` locked them with no payment
    in flight, so there is none to look for (see `_reserve`)."""
    to_charge, moves, paid = [], [], []
    for subscription in due:
        if subscription.ends_at_renewal:
            moves.append((subscription, end_of_term(subscription)))
        elif not sum(item.total_minor for item in next_period_lines(subscription)):
            # A free first period after a trial.
            after, free = _renewal_paid_or_failed(
                uow,
                subscription,
                next_period_lines(subscription),
                f"periods/{subscription.period_index + 1}",
                PaymentOutcome(PurchaseState.SUCCEEDED),
                now,
            )
            assert free is not None  # noqa: S101 - a succeeded renewal leaves what it paid.
            moves.append((subscription, after))
            paid.append(free)
        else:
            to_charge.append(subscription)
    await _move_all(uow, moves, now)
    charges = []
    if to_charge:
        customers = await uow.payments.customers({s.member_id for s in to_charge})
        charges = [_renewal_charge(s, customers.get(s.member_id, ""), now) for s in to_charge]
        await uow.subscriptions.reserve_charges(charges, now)
    await _record(uow, paid, now)
    return charges


def _renewal_charge(subscription: Subscription, customer: str, now: datetime) -> SubscriptionCharge:
    return _new_charge(
        subscription,
        subscription.renewal_key,
        ChargePurpose.RENEWAL,
        next_period_lines(subscription),
        f"periods/{subscription.period_index + 1}",
        None,
        customer,
        now,
    )


async def _reserve_renewal(
    uow: BillingUnitOfWork, subscription: Subscription, now: datetime
) -> SubscriptionCharge:
    customer = await _customer(uow, subscription)
    return await _reserve(uow, subscription, _renewal_charge(subscription, customer, now), now)


async def _customer(uow: BillingUnitOfWork, subscription: Subscription) -> str:
    return await uow.payments.customer(subscription.member_id) or ""


def _new_charge(
    subscription: Subscription,
    key: str,
    purpose: ChargePurpose,
    lines: tuple[Line, ...],
    source: str,
    target: uuid.UUID | None,
    customer: str,
    now: datetime,
) -> SubscriptionCharge:
    """A charge of the subscription's card, claimed for this attempt."""
    plan = subscription.pending_plan or subscription.plan
    return SubscriptionCharge(
        key,
        subscription.id,
        subscription.member_id,
        purpose,
        customer,
        subscription.payment_method,
        plan.currency,
        lines,
        source,
        target,
        now + ATTEMPT_LEASE,
    )


async def _reserve(
    uow: BillingUnitOfWork, subscription: Subscription, charge: SubscriptionCharge, now: datetime
) -> SubscriptionCharge:
    """Reserves a charge of the subscription's card (locked by the caller) and claims it for
    this attempt. The same charge left in flight by an attempt that died is taken over as it
    was reserved (its amount was fixed then); any other payment in flight is ABORTED."""
    in_flight = await uow.subscriptions.charge_in_flight(subscription.id)
    if in_flight is not None:
        if in_flight.key != charge.key:
            raise Aborted("PAYMENT_IN_PROGRESS", "subscription.payment_in_progress")
        if not claimable(in_flight.claimed_until, now):
            raise Aborted("REQUEST_IN_PROGRESS", "payment.in_progress")
        await uow.subscriptions.claim_charge(charge.key, now + ATTEMPT_LEASE)
        return replace(in_flight, claimed_until=now + ATTEMPT_LEASE)
    if await uow.subscriptions.refund_in_flight(subscription):
        raise Aborted("PAYMENT_IN_PROGRESS", "subscription.payment_in_progress")
    await uow.subscriptions.reserve_charges([charge], now)
    return charge


async def _charge_now(
    uow: BillingUnitOfWork,
    payments: Charges,
    charge: SubscriptionCharge,
    declined: FailedPrecondition | None,
    clock: Clock,
) -> Subscription:
    """Charges a reserved charge for a member waiting on it and applies the answer; `declined`
    is raised if the card is declined. If the provider does not answer, the charge is left
    for the member's retry (or the renewer) to repeat at once."""
    if charge.amount_minor == 0:  # A free add-on, or the period's last moments.
        outcome = PaymentOutcome(PurchaseState.SUCCEEDED)
    else:
        try:
            outcome = await _charge_card(payments, charge)
        except BaseException:
            await _release(uow, charge, clock())
            raise
    after = await _settle(uow, charge, outcome, clock())
    if declined is not None and outcome.state is not PurchaseState.SUCCEEDED:
        if outcome.failure_code == SAVED_CARD_GONE:
            raise FailedPrecondition("SAVED_CARD_GONE", "payment.saved_card_gone")
        raise declined
    return after


async def _charge_card(payments: Charges, charge: SubscriptionCharge) -> PaymentOutcome:
    """Charges the card on file; gone with its customer, the charge fails (dunning, then the
    member adds a card), for there is no card to save under a new one."""
    try:
        return await payments.charge(
            charge.customer,
            charge.payment_method,
            charge.amount_minor,
            charge.currency,
            charge.key,
            {"subscription": charge.subscription},
            off_session=True,
        )
    except CustomerGone:
        return PaymentOutcome(PurchaseState.FAILED, failure_code=SAVED_CARD_GONE)


async def _release(uow: BillingUnitOfWork, charge: SubscriptionCharge, now: datetime) -> None:
    try:
        async with uow:
            await uow.subscriptions.release_charge(charge.key, now)
            await uow.commit()
    except Exception:  # Its claim runs out instead.
        _log.exception("could not release a charge", extra={"charge": charge.key})


@dataclass(frozen=True)
class _Paid:
    """What a paid charge leaves to write once its subscription has moved on."""

    billed: Billed
    decision: Decision


async def _settle(
    uow: BillingUnitOfWork, charge: SubscriptionCharge, outcome: PaymentOutcome, now: datetime
) -> Subscription:
    """Applies a charge's answer to its subscription, once: whichever attempt comes second
    finds it applied and changes nothing."""
    return (await _settle_all(uow, [(charge, outcome)], now))[charge.subscription_id]


async def _settle_batch(
    new_uow: Callable[[], BillingUnitOfWork],
    answered: list[tuple[SubscriptionCharge, PaymentOutcome]],
    now: datetime,
) -> None:
    """Applies the answers in one transaction; if that fails, each in one of its own, so that
    an answer that cannot be applied keeps none of the others from being applied (its charge
    stays claimed, and a later run repeats it). The first error is raised."""
    try:
        await _settle_all(new_uow(), answered, now)
        return
    except Exception:
        if len(answered) == 1:
            raise
        _log.exception("settling renewals together failed: settling each alone")
    failed: Exception | None = None
    for charge, outcome in answered:
        try:
            await _settle(new_uow(), charge, outcome, now)
        except Exception as error:
            failed = failed or error
    if failed is not None:
        raise failed


async def _settle_all(
    uow: BillingUnitOfWork,
    answered: list[tuple[SubscriptionCharge, PaymentOutcome]],
    now: datetime,
) -> dict[uuid.UUID, Subscription]:
    """Applies charges' answers (of different subscriptions) to their subscriptions in one
    transaction, each once; the subscriptions as they are then, by id. Their invoices and
    audit entries are written last, with one take of the invoice counter and of the chain's
    tail for all, which both stay locked until commit."""
    async with uow:
        locked = await uow.subscriptions.lock_all(
            [charge.subscription_id for charge, _ in answered]
        )
        unapplied = await uow.subscriptions.end_charges([charge.key for charge, _ in answered])
        settled, moves, paid = {}, [], []
        for charge, outcome in answered:
            subscription = locked.get(charge.subscription_id)
            if subscription is None:  # Subscriptions are never deleted.
                raise LookupError(f"subscription {charge.subscription_id} vanished")
            after, written = subscription, None
            if charge.key not in unapplied:
                pass  # Another attempt applied it.
            elif charge.purpose is ChargePurpose.RENEWAL:
                after, written = _renewal_paid_or_failed(
                    uow, subscription, charge.lines, charge.source, outcome, now
                )
                moves.append((subscription, after))
            elif outcome.state is PurchaseState.SUCCEEDED:
                after, written = await _apply_mid_period(uow, subscription, charge, outcome, now)
            # Else a declined upgrade or add-on: it changes nothing.
            settled[subscription.id] = after
            if written is not None:
                paid.append(written)
        await _move_all(uow, moves, now)
        await _record(uow, paid, now)
        await uow.commit()
    return settled


async def _record(uow: BillingUnitOfWork, paid: list[_Paid], now: datetime) -> None:
    """The invoices and audit entries of what was paid: last in the transaction, for the
    invoice counter and the chain's tail serialize every payment until commit."""
    await issue_invoices(uow, [item.billed for item in paid], now)
    await uow.audit.append_all(now, [item.decision for item in paid])


def _renewal_paid_or_failed(
    uow: BillingUnitOfWork,
    subscription: Subscription,
    lines: tuple[Line, ...],
    source: str,
    outcome: PaymentOutcome,
    now: datetime,
) -> tuple[Subscription, _Paid | None]:
    """The subscription moved on by its renewal's answer (the next period, or dunning), for
    the caller to `_move_all`; and, if paid, its invoice and audit entry, for the caller to
    `_record` last. The payment's event is published now."""
    plan = subscription.pending_plan or subscription.plan  # What the next period is on.
    amount = sum(item.total_minor for item in lines)
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
    if not paid:
        return after, None
    return after, _Paid(
        Billed(
            subscription.member_id,
            plan.studio,
            plan.currency,
            lines,
            f"{subscription.resource_name}/{source}",
        ),
        Decision(
            RENEWER,
            "subscription.renewed",
            subscription.resource_name,
            {
                "period_start": after.period_start.isoformat(),
                "currency": plan.currency,
                "amount_minor": amount,
                "payment_intent": outcome.payment_intent,
            },
        ),
    )


async def _apply_mid_period(
    uow: BillingUnitOfWork,
    subscription: Subscription,
    charge: SubscriptionCharge,
    outcome: PaymentOutcome,
    now: datetime,
) -> tuple[Subscription, _Paid | None]:
    """What a paid upgrade or family member gets and its event; then, unless it was free, its
    invoice and audit entry, for the caller to `_record` last."""
    plan, name = subscription.plan, subscription.resource_name
    assert charge.target is not None  # noqa: S101 - upgrades and add-ons name what they add.
    if charge.purpose is ChargePurpose.PLAN_CHANGE:
        new_plan = await uow.plans.get(plan.studio, charge.target)
        if new_plan is None:  # Plans are never deleted.
            raise LookupError(f"plan {charge.target} vanished")
        after = replace(subscription, plan=new_plan, pending_plan=None)
        await uow.subscriptions.save(after, now)
        action = "subscription.upgraded"
        details = {"from_plan": plan.resource_name, "to_plan": new_plan.resource_name}
    else:
        after = await _add_family_member(uow, subscription, charge.target, now)
        action, details = "subscription.member_added", {"member": f"users/{charge.target}"}
    if charge.amount_minor == 0:
        return after, None
    uow.publish(
        PAYMENT_SUCCEEDED,
        subject=name,
        payload=events_pb2.PaymentChanged(
            subscription=name,
            member=f"users/{subscription.member_id}",
            currency_code=charge.currency,
            amount_minor=charge.amount_minor,
        ),
    )
    return after, _Paid(
        Billed(
            subscription.member_id,
            plan.studio,
            charge.currency,
            charge.lines,
            f"{name}/{charge.source}",
        ),
        Decision(
            f"users/{subscription.member_id}",
            action,
            name,
            {
                **details,
                "currency": charge.currency,
                "amount_minor": charge.amount_minor,
                "payment_intent": outcome.payment_intent,
            },
        ),
    )


async def _add_family_member(
    uow: BillingUnitOfWork, subscription: Subscription, member_id: uuid.UUID, now: datetime
) -> Subscription:
    """A membership of their own that follows the holder's (frozen with it, if it is)."""
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
        f"users/{subscription.member_id}",
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
    return replace(subscription, add_ons=(*subscription.add_ons, add_on))


async def _move(
    uow: BillingUnitOfWork, before: Subscription, after: Subscription, now: datetime
) -> None:
    """Stores a subscription as it is now, moves its memberships with it and says what
    happened."""
    await _move_all(uow, [(before, after)], now)


async def _move_all(
    uow: BillingUnitOfWork, moves: list[tuple[Subscription, Subscription]], now: datetime
) -> None:
    """`_move` for each (before, after): one statement for all the subscriptions and one for
    all their memberships."""
    await uow.entitlements.end_all_at(
        {
            entitlement_id: after.access_until
            for before, after in moves
            if after.access_until != before.access_until
            for entitlement_id in after.entitlement_ids
        }
    )
    await uow.subscriptions.save_all([after for _, after in moves], now)
    for before, after in moves:
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


async def _owned_and_idle(
    uow: BillingUnitOfWork, member_id: uuid.UUID, subscription_id: uuid.UUID
) -> Subscription:
    subscription = await _owned(uow, member_id, subscription_id)
    await _check_idle(uow, subscription)
    return subscription


async def _check_idle(uow: BillingUnitOfWork, subscription: Subscription) -> None:
    """Nothing changes a subscription while a charge of its card is in flight: the charge
    was reserved for the subscription as it is."""
    if await uow.subscriptions.charge_in_flight(subscription.id) is not None:
        raise Aborted("PAYMENT_IN_PROGRESS", "subscription.payment_in_progress")


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
