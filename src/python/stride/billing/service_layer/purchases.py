"""Buying plans with Stripe or in instalments, what Stripe's webhooks say about those
payments, and refunds.

A purchase is paid one way, once: its id follows from the member's request id, one attempt
at a time claims it, Stripe gets one idempotency key per purchase, and a purchase being paid
by card takes no instalment plan, nor one being paid in instalments a card (FAILED_PRECONDITION:
paying the other way takes a new request id). No transaction is open while a provider is asked
(reserve, call, settle: see `domain.payments`), so a slow provider holds no database
connection and no lock. The answer to our call and the webhooks that follow go through one
function, `record_outcome`, whose state only moves forward; the credits are granted on the
move into SUCCEEDED, so once, whatever arrives first. A payment Stripe reports that the
purchase does not take (another intent, or one for a purchase paid in instalments) grants
nothing: it is recorded as owed back to the member (audit trail and error log), for a refund
in Stripe.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from stride.billing.domain.entitlements import Kind, validate_grant
from stride.billing.domain.financing import FinancingStatus
from stride.billing.domain.invoices import purchase_lines, refund_lines
from stride.billing.domain.payments import (
    ATTEMPT_LEASE,
    CustomerGone,
    PaymentOutcome,
    PaymentReport,
    claimable,
)
from stride.billing.domain.plans import parse_plan_name
from stride.billing.domain.purchases import (
    Purchase,
    PurchaseState,
    Refund,
    RefundState,
    purchase_id,
    refund_amount,
    refund_id,
    settle,
    validate_purchase_request,
    validate_request_id,
)
from stride.billing.domain.subscriptions import is_recurring, subscription_id
from stride.billing.events.v1 import events_pb2
from stride.billing.service_layer.commands import FinancePlan, PurchasePlan, RefundPurchase
from stride.billing.service_layer.handlers import STAFF, announce_entitlement, issue
from stride.billing.service_layer.invoices import issue_invoice
from stride.billing.service_layer.payments import (
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    FinancingProvider,
    PaymentProvider,
    WebhookVerifier,
    replace_gone_customer,
)
from stride.billing.service_layer.subscriptions import (
    SUBSCRIPTION_ACTIVATED,
    SUBSCRIPTION_TRIAL_STARTED,
    announce_subscription,
    end_refunded_subscription,
    start_subscription_for,
)
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.auth import (
    Principal,
    current_principal,
    require_role_in_studio,
    require_self_or_role,
)
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import (
    Aborted,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from stride.platform.i18n import current_locale
from stride.platform.resource_names import parse_uuid_ids

REFUND_ISSUED = "billing.refund.issued.v1"

_log = logging.getLogger("stride.billing.payments")


async def purchase_plan(
    uow: BillingUnitOfWork,
    payments: PaymentProvider,
    command: PurchasePlan,
    clock: Clock = utcnow,
) -> tuple[Purchase, str]:
    """The purchase and, while the card needs 3-D Secure, the client secret to complete it.
    A member's first membership at a studio starts with the plan's free trial, if it has one:
    the card is saved and charged when the trial ends.

    Reserve, call, settle: the purchase is written and claimed in one short transaction,
    Stripe is asked with none open, and its answer is applied in another. A retry of the same
    request while the first is in flight is ABORTED; after it, the retry finds the purchase
    settled, or re-reads its intent, or (if the first attempt died before settling) asks
    Stripe again with the same idempotency key and gets the same intent. A request whose
    purchase is being paid in instalments is refused (FAILED_PRECONDITION, `PURCHASE_FINANCED`):
    paying by card takes a purchase of its own, under a new request id."""
    require_self_or_role(str(command.member_id))
    validate_purchase_request(command.payment_method, command.request_id)
    claimed, customer = await _reserve_purchase(uow, command, clock())
    if claimed.attempt_until is None:
        return claimed, ""  # Nothing to ask Stripe.
    try:
        outcome = await _pay(uow, payments, claimed, customer)
    except BaseException as error:
        await _abandon(uow, claimed, error, clock())
        raise
    return await _settle(uow, claimed, outcome, clock()), outcome.client_secret


async def _reserve_purchase(
    uow: BillingUnitOfWork, command: PurchasePlan, now: datetime
) -> tuple[Purchase, str | None]:
    """The purchase, claimed for this attempt unless there is nothing to ask Stripe (then
    unclaimed), and the member's Stripe customer if they have one."""
    async with uow:
        plan = await uow.plans.get(command.studio, command.plan_id)
        if plan is None:
            raise NotFound("PLAN_NOT_FOUND", "plan.not_found")
        trial_days = plan.trial_days
        if trial_days and await uow.subscriptions.any_at_studio(
            command.member_id, command.studio, now
        ):
            trial_days = 0
        purchase = await uow.payments.open_purchase(
            Purchase(
                purchase_id(command.member_id, command.request_id),
                command.member_id,
                plan,
                0 if trial_days else sum(item.total_minor for item in purchase_lines(plan)),
                PurchaseState.PROCESSING,
                now,
                payment_method=command.payment_method,
                trial_days=trial_days,
            )
        )
        if purchase.plan.id != plan.id:
            raise InvalidArgument([FieldViolation("request_id", "request_id.reused")])
        if purchase.financing_payment:
            raise FailedPrecondition("PURCHASE_FINANCED", "purchase.financed")
        if purchase.state is PurchaseState.SUCCEEDED or (
            purchase.state is PurchaseState.FAILED and not purchase.payment_intent
        ):
            # Paid, or refused before an intent (a new request retries): nothing to ask Stripe,
            # whatever claim an attempt that died after Stripe answered left on it.
            return replace(purchase, attempt_until=None), None
        if not purchase.payment_intent:  # This attempt pays with the card it names.
            purchase = replace(purchase, payment_method=command.payment_method)
        claimed = await _claim(uow, purchase, now)
        customer = await uow.payments.customer(command.member_id)
        await uow.commit()
    return claimed, customer


async def _claim(uow: BillingUnitOfWork, purchase: Purchase, now: datetime) -> Purchase:
    """Claims a purchase (locked by the caller) for one attempt at its provider; a concurrent
    attempt of the same request is ABORTED, and its client retries once this one is done."""
    if not claimable(purchase.attempt_until, now):
        raise Aborted("REQUEST_IN_PROGRESS", "payment.in_progress")
    claimed = replace(purchase, attempt_until=now + ATTEMPT_LEASE)
    await uow.payments.save_purchase(claimed, now)
    return claimed


async def _pay(
    uow: BillingUnitOfWork, payments: PaymentProvider, purchase: Purchase, customer: str | None
) -> PaymentOutcome:
    """Asks Stripe, with no transaction open: where an earlier attempt's intent stands, or a
    new charge (a trial or a free first period only saves the card)."""
    if purchase.payment_intent:
        return await payments.payment(purchase.payment_intent)
    customer = customer or await _new_customer(uow, payments, purchase.member_id)
    try:
        return await _pay_with(payments, purchase, customer)
    except CustomerGone as gone:  # Deleted at Stripe; the member is here with a card.
        replaced = await replace_gone_customer(uow, payments, purchase.member_id, gone.customer)
        return await _pay_with(payments, purchase, replaced)


async def _pay_with(payments: PaymentProvider, purchase: Purchase, customer: str) -> PaymentOutcome:
    if purchase.amount_minor == 0:
        await payments.save_card(customer, purchase.payment_method)
        return PaymentOutcome(PurchaseState.SUCCEEDED)
    return await payments.charge(
        customer,
        purchase.payment_method,
        purchase.amount_minor,
        purchase.plan.currency,
        purchase.idempotency_key,
        {"purchase": purchase.resource_name, "plan": purchase.plan.resource_name},
    )


async def _new_customer(
    uow: BillingUnitOfWork, payments: PaymentProvider, member_id: uuid.UUID
) -> str:
    """The member's Stripe customer, made at their first payment (Stripe's idempotency key
    makes one per member however many attempts race) and recorded in a short transaction."""
    created = await payments.create_customer(member_id)
    async with uow:
        kept = await uow.payments.keep_customer(member_id, created)
        await uow.commit()
    return kept


async def _settle(
    uow: BillingUnitOfWork, claimed: Purchase, outcome: PaymentOutcome, now: datetime
) -> Purchase:
    """Applies the provider's answer to the purchase and ends this attempt's claim."""
    async with uow:
        purchase = await _locked(uow, claimed.id)
        settled = await record_outcome(uow, purchase, outcome, now)
        await _end_claim(uow, claimed)
        await uow.commit()
    return replace(settled, attempt_until=None)


async def _abandon(
    uow: BillingUnitOfWork, claimed: Purchase, error: BaseException, now: datetime
) -> None:
    """Ends an attempt the provider did not answer. A refusal (an unknown card, a declined
    instalment plan) fails a purchase no payment was made for, so a retry returns it as it
    is; anything else (the provider down or slow) leaves it to a retry, which asks again
    with the same idempotency key. Failing to record this leaves the claim to run out."""
    refused = isinstance(error, DomainError) and not isinstance(error, Unavailable)
    try:
        async with uow:
            purchase = await _locked(uow, claimed.id)
            if (
                refused
                and purchase.state is PurchaseState.PROCESSING
                and not purchase.payment_intent
            ):
                await uow.payments.save_purchase(
                    replace(purchase, state=PurchaseState.FAILED, failure_code=_code(error)), now
                )
            await _end_claim(uow, claimed)
            await uow.commit()
    except Exception:
        _log.exception("could not end a payment attempt", extra={"purchase": str(claimed.id)})


def _code(error: BaseException) -> str:
    """A refusal as a failure code: `invalid_payment_method`, `financing_declined`…"""
    if isinstance(error, InvalidArgument) and error.violations:
        return error.violations[0].message_key.rpartition(".")[2]
    return error.reason.lower() if isinstance(error, DomainError) else "refused"


async def _locked(uow: BillingUnitOfWork, purchase_id_: uuid.UUID) -> Purchase:
    purchase = await uow.payments.purchase(purchase_id_, lock=True)
    if purchase is None:  # Purchases are never deleted.
        raise LookupError(f"purchase {purchase_id_} vanished")
    return purchase


async def _end_claim(uow: BillingUnitOfWork, claimed: Purchase) -> None:
    assert claimed.attempt_until is not None  # noqa: S101 - a claimed purchase has one.
    await uow.payments.end_attempt(claimed.id, claimed.attempt_until)


async def finance_plan(
    uow: BillingUnitOfWork,
    financing: FinancingProvider | None,
    command: FinancePlan,
    clock: Clock = utcnow,
) -> Purchase:
    """Starts paying for a plan in instalments: the purchase waits (REQUIRES_ACTION) while the
    member approves the plan on the partner's page (`financing_url`). The checkout is started
    with no transaction open; a retry after it finds the checkout, and a retry after an
    attempt that died before recording it starts another (an unused checkout expires). A
    request whose purchase is being paid by card is refused (FAILED_PRECONDITION,
    `PURCHASE_PAID_BY_CARD`), even once the card was refused or its answer lost (it may have
    been charged): paying in instalments takes a purchase of its own."""
    require_self_or_role(str(command.member_id))
    validate_request_id(command.request_id)
    if financing is None or command.provider != financing.name:
        raise InvalidArgument([FieldViolation("provider", "financing.unknown_provider")])
    if "@" not in command.buyer_email:
        raise InvalidArgument([FieldViolation("buyer_email", "financing.buyer_email")])
    now = clock()
    async with uow:
        plan = await uow.plans.get(command.studio, command.plan_id)
        if plan is None:
            raise NotFound("PLAN_NOT_FOUND", "plan.not_found")
        purchase = await uow.payments.open_purchase(
            Purchase(
                purchase_id(command.member_id, command.request_id),
                command.member_id,
                plan,
                sum(item.total_minor for item in purchase_lines(plan)),
                PurchaseState.PROCESSING,
                now,
            )
        )
        if purchase.plan.id != plan.id:
            raise InvalidArgument([FieldViolation("request_id", "request_id.reused")])
        _check_not_paid_by_card(purchase)
        if purchase.financing_payment or purchase.state is not PurchaseState.PROCESSING:
            return purchase  # A retry: the checkout already exists (or was refused).
        claimed = await _claim(uow, purchase, now)
        await uow.commit()
    try:
        checkout = await financing.start_checkout(
            claimed.resource_name,
            claimed.amount_minor,
            plan.currency,
            plan.display_name_en,
            command.buyer_email,
            current_locale(),
        )
    except BaseException as error:
        await _abandon(uow, claimed, error, clock())
        raise
    async with uow:
        purchase = await _locked(uow, claimed.id)
        # A later attempt may have recorded its checkout first, or (this one's claim having run
        # out) started paying by card: then this checkout is never recorded, and expires unused.
        if not purchase.financing_payment and not _paid_by_card(purchase):
            purchase = replace(
                purchase,
                state=PurchaseState.REQUIRES_ACTION,
                financing_payment=checkout.payment_id,
                financing_url=checkout.web_url,
            )
            await uow.payments.save_purchase(purchase, clock())
        await _end_claim(uow, claimed)
        await uow.commit()
    _check_not_paid_by_card(purchase)
    return replace(purchase, attempt_until=None)


def _paid_by_card(purchase: Purchase) -> bool:
    """Whether a card attempt has started on the purchase (it names the card at once, and an
    attempt whose answer was lost may have been charged), so it takes no instalment plan."""
    return bool(purchase.payment_method or purchase.payment_intent)


def _check_not_paid_by_card(purchase: Purchase) -> None:
    if _paid_by_card(purchase):
        raise FailedPrecondition("PURCHASE_PAID_BY_CARD", "purchase.paid_by_card")


async def confirm_financing(
    uow: BillingUnitOfWork,
    financing: FinancingProvider | None,
    member_id: uuid.UUID,
    purchase_id_: uuid.UUID,
    clock: Clock = utcnow,
) -> Purchase:
    """After the partner's page: captures an approved plan (the member gets what they bought),
    fails a rejected or expired one, leaves a pending one waiting. Safe to repeat: after an
    attempt that died between capturing and settling, the partner reports the payment
    captured and the repeat settles it."""
    require_self_or_role(str(member_id))
    async with uow:
        purchase = await uow.payments.purchase(purchase_id_, lock=True)
        if purchase is None or purchase.member_id != member_id:
            raise NotFound("PURCHASE_NOT_FOUND", "purchase.not_found")
        if not purchase.financing_payment or financing is None:
            raise FailedPrecondition("NOT_FINANCED", "financing.not_financed")
        if purchase.state is PurchaseState.SUCCEEDED:
            return purchase
        claimed = await _claim(uow, purchase, clock())
        await uow.commit()
    try:
        status = await financing.status(claimed.financing_payment)
        if status is FinancingStatus.AUTHORIZED:
            await financing.capture(
                claimed.financing_payment,
                claimed.amount_minor,
                claimed.plan.currency,
                claimed.resource_name,
            )
            status = FinancingStatus.CAPTURED
    except BaseException as error:
        await _abandon(uow, claimed, error, clock())
        raise
    failure = status.value if status is FinancingStatus.REJECTED else ""
    return await _settle(
        uow, claimed, PaymentOutcome(status.purchase_state, failure_code=failure), clock()
    )


async def get_purchase(
    uow: BillingUnitOfWork, member_id: uuid.UUID, purchase_id_: uuid.UUID
) -> Purchase:
    require_self_or_role(str(member_id), "admin")
    async with uow:
        purchase = await uow.payments.purchase(purchase_id_)
    if purchase is None or purchase.member_id != member_id:
        raise NotFound("PURCHASE_NOT_FOUND", "purchase.not_found")
    return purchase


async def record_outcome(
    uow: BillingUnitOfWork, purchase: Purchase, outcome: PaymentOutcome, now: datetime
) -> Purchase:
    """Applies what the provider reports to a purchase locked by the caller; the report that
    moves it into SUCCEEDED grants the credits, and reports that change nothing leave no trace.
    A payment the purchase does not take is not applied: Stripe's webhook records it if it
    succeeded (`_payment_intent_changed`)."""
    if _second_payment(purchase, outcome):
        return purchase
    state = settle(purchase.state, outcome.state)
    updated = replace(
        purchase,
        state=state,
        payment_intent=outcome.payment_intent or purchase.payment_intent,
        failure_code=outcome.failure_code if state is PurchaseState.FAILED else "",
    )
    if updated == purchase:
        return purchase
    if state is PurchaseState.SUCCEEDED and purchase.state is not PurchaseState.SUCCEEDED:
        updated = await _fulfil(uow, updated, now)
    elif state is PurchaseState.FAILED and purchase.state is not PurchaseState.FAILED:
        _announce_payment(uow, updated, PAYMENT_FAILED)
    await uow.payments.save_purchase(updated, now)
    return updated


def _second_payment(purchase: Purchase, outcome: PaymentOutcome) -> bool:
    """Whether Stripe reports a payment other than the one the purchase takes: an intent
    other than its own, or any intent for a purchase paid in instalments or settled with
    nothing charged (a trial)."""
    if not outcome.payment_intent:
        return False
    if purchase.payment_intent:
        return outcome.payment_intent != purchase.payment_intent
    return bool(purchase.financing_payment) or purchase.state is PurchaseState.SUCCEEDED


async def _fulfil(uow: BillingUnitOfWork, purchase: Purchase, paid: datetime) -> Purchase:
    """Grants what was paid for: the pack's credits, or the membership and its subscription."""
    plan = purchase.plan
    if is_recurring(plan):
        entitlement, subscription = start_subscription_for(purchase, paid)
    else:
        start, expire = purchase.pack_period(paid)
        entitlement = validate_grant(
            purchase.member_id,
            Kind.CLASS_PACK,
            f"studios/{plan.studio}",
            plan.credits,
            start,
            expire,
        )
        subscription = None
    await issue(
        uow,
        entitlement,
        f"users/{purchase.member_id}",
        "entitlement.purchased",
        {
            "purchase": purchase.resource_name,
            "payment_intent": purchase.payment_intent,
            "currency": plan.currency,
            "amount_minor": purchase.amount_minor,
        },
        paid,
    )
    if subscription is not None:
        await uow.subscriptions.add(subscription, paid)
        announce_subscription(
            uow,
            subscription,
            SUBSCRIPTION_TRIAL_STARTED if purchase.trial_days else SUBSCRIPTION_ACTIVATED,
        )
    paid_purchase = replace(purchase, entitlement_id=entitlement.id)
    if purchase.trial_days:
        return paid_purchase  # Nothing was charged: the trial's end is the first invoice.
    await issue_invoice(
        uow,
        purchase.member_id,
        plan.studio,
        plan.currency,
        purchase_lines(plan),
        purchase.resource_name,
        paid,
    )
    _announce_payment(uow, paid_purchase, PAYMENT_SUCCEEDED)
    return paid_purchase


def _announce_payment(uow: BillingUnitOfWork, purchase: Purchase, event_type: str) -> None:
    uow.publish(
        event_type,
        subject=purchase.resource_name,
        payload=events_pb2.PaymentChanged(
            purchase=purchase.resource_name,
            member=f"users/{purchase.member_id}",
            currency_code=purchase.plan.currency,
            amount_minor=purchase.amount_minor,
            failure_code=purchase.failure_code,
        ),
    )


async def refund_purchase(
    uow: BillingUnitOfWork,
    payments: PaymentProvider,
    financing: FinancingProvider | None,
    command: RefundPurchase,
    clock: Clock = utcnow,
) -> tuple[Refund, Purchase]:
    """The refund and the purchase after it. Only a manager of the purchase's studio, or an
    admin, refunds; anyone else is refused before anything else is checked, whether the
    purchase exists or not (AIP-211). The refund is reserved first, under the
    purchase's lock, with its amount counted against what is left to refund, so concurrent
    refunds cannot exceed what was paid; the provider is asked with no transaction open; the
    answer settles it. A retry of the same request finds it: done, in flight (ABORTED), or
    left pending by an attempt that died, which the retry completes with the same idempotency
    key, so the provider gives back once."""
    refund, purchase = await _reserve_refund(uow, financing, command, clock())
    if refund.state is RefundState.SUCCEEDED:
        return refund, purchase  # A retry: that refund is already through.
    try:
        provider_refund = await _give_back(payments, financing, purchase, refund)
    except BaseException as error:
        await _abandon_refund(uow, refund, error)
        raise
    return await _settle_refund(uow, refund, provider_refund, clock())


async def complete_refunds(
    new_uow: Callable[[], BillingUnitOfWork],
    payments: PaymentProvider,
    financing: FinancingProvider | None,
    clock: Clock = utcnow,
) -> int:
    """Completes every refund an attempt left pending (it died, or the provider did not
    answer), asking the provider again with the same idempotency key (Tabby: the same
    reference), so it gives back once; how many it completed. A refund the provider refuses
    is dropped; one it does not answer waits for its claim to run out."""
    completed = 0
    while (refund := await _claim_stale_refund(new_uow(), clock())) is not None:
        uow = new_uow()
        async with uow:
            purchase = await uow.payments.purchase(refund.purchase_id)
        if purchase is None:  # Purchases are never deleted.
            raise LookupError(f"purchase {refund.purchase_id} vanished")
        if purchase.financing_payment and financing is None:
            continue  # Financing is off here: left claimed, for a worker that has it.
        try:
            provider_refund = await _give_back(payments, financing, purchase, refund)
        except DomainError as error:
            if isinstance(error, Unavailable):
                raise
            await _abandon_refund(uow, refund, error)
            continue
        await _settle_refund(uow, refund, provider_refund, clock())
        completed += 1
    return completed


async def _claim_stale_refund(uow: BillingUnitOfWork, now: datetime) -> Refund | None:
    async with uow:
        refund = await uow.payments.claim_stale_refund(now, now + ATTEMPT_LEASE)
        await uow.commit()
    return refund


async def _reserve_refund(
    uow: BillingUnitOfWork,
    financing: FinancingProvider | None,
    command: RefundPurchase,
    now: datetime,
) -> tuple[Refund, Purchase]:
    """The refund, reserved and claimed for this attempt (or as it was, if already through)."""
    async with uow:
        purchase, manager = _refundable(
            await uow.payments.purchase(command.purchase_id, lock=True), command.member_id
        )
        validate_request_id(command.request_id)
        if purchase.financing_payment and financing is None:
            raise FailedPrecondition("FINANCING_UNAVAILABLE", "financing.unavailable")
        refund = await uow.payments.refund(refund_id(purchase.id, command.request_id))
        if refund is not None and refund.state is RefundState.SUCCEEDED:
            return refund, purchase
        if refund is None:
            await _check_no_charge_in_flight(uow, purchase)
            amount = refund_amount(
                purchase,
                command.amount_minor,
                command.currency,
                command.reason,
                await uow.payments.pending_refunds(purchase.id),
            )
            refund = Refund(
                refund_id(purchase.id, command.request_id),
                command.member_id,
                purchase.id,
                purchase.plan.currency,
                amount,
                command.reason.strip(),
                uuid.UUID(manager.user_id),
                now,
                attempt_until=now + ATTEMPT_LEASE,
            )
            await uow.payments.add_refund(refund)
        elif claimable(refund.attempt_until, now):  # Pending: an attempt that died left it.
            refund = replace(refund, attempt_until=now + ATTEMPT_LEASE)
            await uow.payments.save_refund(refund)
        else:
            raise Aborted("REQUEST_IN_PROGRESS", "payment.in_progress")
        await uow.commit()
    return refund, purchase


def _refundable(found: Purchase | None, member_id: uuid.UUID) -> tuple[Purchase, Principal]:
    """The purchase named and who refunds it: a manager of its studio, or an admin. Checked
    before anything else of the request (AIP-211): a purchase that does not exist under the
    name given is in no studio, so to all but an admin, whose role spans every studio, it
    looks like another studio's: PERMISSION_DENIED either way, never a hint that it exists."""
    if found is not None and found.member_id == member_id:
        return found, require_role_in_studio(f"studios/{found.plan.studio}", *STAFF)
    if current_principal().has_role("admin"):
        raise NotFound("PURCHASE_NOT_FOUND", "purchase.not_found")
    raise PermissionDenied()


async def _check_no_charge_in_flight(uow: BillingUnitOfWork, purchase: Purchase) -> None:
    """A membership's purchase is not refunded while a charge of its card is in flight (a full
    refund ends the subscription the charge is for); the subscription stays locked until the
    refund is reserved, and no charge starts while one is pending."""
    if not is_recurring(purchase.plan):
        return
    subscription = await uow.subscriptions.get(subscription_id(purchase.id), lock=True)
    if subscription and await uow.subscriptions.charge_in_flight(subscription.id):
        raise Aborted("PAYMENT_IN_PROGRESS", "subscription.payment_in_progress")


async def _give_back(
    payments: PaymentProvider,
    financing: FinancingProvider | None,
    purchase: Purchase,
    refund: Refund,
) -> str:
    """Refunds through whoever took the money: Stripe, or the financing partner."""
    if not purchase.financing_payment:
        return await payments.refund(
            purchase.payment_intent,
            refund.amount_minor,
            refund.idempotency_key,
            {"refund": refund.resource_name},
        )
    assert financing is not None  # noqa: S101 - checked before the refund was sent.
    return await financing.refund(
        purchase.financing_payment, refund.amount_minor, refund.currency, refund.resource_name
    )


async def _abandon_refund(uow: BillingUnitOfWork, refund: Refund, error: BaseException) -> None:
    """Ends an attempt the provider did not answer: a refusal frees the amount it reserved
    (nothing was given back); anything else leaves it pending for a retry to complete."""
    refused = isinstance(error, DomainError) and not isinstance(error, Unavailable)
    assert refund.attempt_until is not None  # noqa: S101 - a claimed refund has one.
    try:
        async with uow:
            await _locked(uow, refund.purchase_id)  # Refunds change under their purchase's lock.
            if refused:
                await uow.payments.drop_refund(refund.id)
            else:
                await uow.payments.end_refund_attempt(refund.id, refund.attempt_until)
            await uow.commit()
    except Exception:
        _log.exception("could not end a refund attempt", extra={"refund": str(refund.id)})


async def _settle_refund(
    uow: BillingUnitOfWork, claimed: Refund, provider_refund: str, now: datetime
) -> tuple[Refund, Purchase]:
    """Records what the provider gave back: the purchase's refunded total, what a full refund
    takes back, the credit note, the audit entry and the event; once, whichever attempt
    settles first."""
    async with uow:
        purchase = await _locked(uow, claimed.purchase_id)
        refund = await uow.payments.refund(claimed.id)
        if refund is None or refund.state is RefundState.SUCCEEDED:
            return refund or claimed, purchase
        refund = replace(
            refund, state=RefundState.SUCCEEDED, provider_refund=provider_refund, attempt_until=None
        )
        after = replace(purchase, refunded_minor=purchase.refunded_minor + refund.amount_minor)
        revoked = await _take_back(uow, after, now) if after.fully_refunded else 0
        await uow.payments.save_refund(refund)
        await uow.payments.save_purchase(after, now)
        await issue_invoice(
            uow,
            refund.member_id,
            purchase.plan.studio,
            refund.currency,
            refund_lines(refund.amount_minor, purchase.plan.vat_rate_basis_points),
            refund.resource_name,
            now,
        )
        await _record_refund(uow, refund, after, revoked)
        await uow.commit()
    return refund, after


async def _take_back(uow: BillingUnitOfWork, purchase: Purchase, now: datetime) -> int:
    """A purchase refunded in full no longer pays for what is not used yet: a membership ends
    now, a pack loses the classes not booked yet (how many is returned)."""
    if is_recurring(purchase.plan):
        await end_refunded_subscription(uow, subscription_id(purchase.id), now)
        return 0
    if purchase.entitlement_id is None:
        return 0
    owned = await uow.entitlements.for_member(purchase.member_id, lock=True)
    bought = next(e for e in owned if e.id == purchase.entitlement_id)
    if bought.credits_remaining:
        await uow.entitlements.change_credits(bought.id, -bought.credits_remaining)
        announce_entitlement(uow.publish, bought, "revoked", 0)
    return bought.credits_remaining


async def _record_refund(
    uow: BillingUnitOfWork, refund: Refund, after: Purchase, credits_revoked: int
) -> None:
    await uow.audit.append(
        refund.created,
        f"users/{refund.refunded_by}",
        "refund.issued",
        refund.resource_name,
        {
            "purchase": after.resource_name,
            "currency": refund.currency,
            "amount_minor": refund.amount_minor,
            "refunded_total_minor": after.refunded_minor,
            "paid_minor": after.amount_minor,
            "reason": refund.reason,
            "provider_refund": refund.provider_refund,
            "credits_revoked": credits_revoked,
        },
    )
    uow.publish(
        REFUND_ISSUED,
        subject=refund.resource_name,
        payload=events_pb2.RefundIssued(
            refund=refund.resource_name,
            member=f"users/{refund.member_id}",
            currency_code=refund.currency,
            amount_minor=refund.amount_minor,
            refunded_total_minor=after.refunded_minor,
        ),
    )


async def receive_stripe_event(
    uow: BillingUnitOfWork,
    webhooks: WebhookVerifier,
    payload: bytes,
    signature: str,
    clock: Clock = utcnow,
) -> None:
    """One signed event from Stripe. Its id is recorded in the transaction that applies it, so
    a redelivery — even concurrent with the first — takes effect once."""
    event = webhooks.verify(payload, signature)
    async with uow:
        now = clock()
        if not await uow.payments.first_sight_of_event(event.id, event.type, now):
            return
        handle = _HANDLERS.get(event.type)
        if handle is None or event.payment is None:
            _log.info("stripe event acknowledged without effect", extra={"type": event.type})
        else:
            await handle(uow, event.payment, now)
        await uow.commit()


async def _payment_intent_changed(
    uow: BillingUnitOfWork, report: PaymentReport, now: datetime
) -> None:
    purchase = await _purchase_of(uow, report, now)
    if purchase is None:
        return
    if _second_payment(purchase, report.outcome):
        if report.outcome.state is PurchaseState.SUCCEEDED:
            await _record_second_payment(uow, purchase, report, now)
        return
    await record_outcome(uow, purchase, report.outcome, now)


async def _record_second_payment(
    uow: BillingUnitOfWork, purchase: Purchase, report: PaymentReport, now: datetime
) -> None:
    """Money Stripe took for a purchase paid another way: it grants nothing, and is recorded
    as owed back to the member, in the audit trail and in an error logged for it to be
    refunded in Stripe. Stripe reports each payment's success once (the event's id is
    recorded with this), so it is recorded once."""
    intent = report.outcome.payment_intent
    _log.error(
        "a purchase paid another way was charged by card too: refund it",
        extra={"purchase": purchase.resource_name, "intent": intent},
    )
    await uow.audit.append(
        now,
        f"users/{purchase.member_id}",
        "payment.owed_back",
        purchase.resource_name,
        {
            "payment_intent": intent,
            "currency": purchase.plan.currency,
            "amount_minor": report.amount_minor,
            "paid_with": purchase.payment_intent or purchase.financing_payment,
        },
    )


async def _purchase_of(
    uow: BillingUnitOfWork, report: PaymentReport, now: datetime
) -> Purchase | None:
    """The purchase a payment pays, locked. If the request that charged never settled (it
    crashed or timed out after Stripe took the money), the purchase is rebuilt from the
    payment's metadata so the member still gets what they paid for."""
    intent = report.outcome.payment_intent
    try:
        member_id, purchased = parse_uuid_ids(
            report.metadata.get("purchase", ""),
            ("users", "purchases"),
            field="purchase",
            message_key="purchase.invalid_name",
        )
        studio, plan_id = parse_plan_name(report.metadata.get("plan", ""), "plan")
    except InvalidArgument:
        _log.info("stripe payment that is not a purchase", extra={"intent": intent})
        return None
    purchase = await uow.payments.purchase(purchased, lock=True)
    if purchase is not None:
        return purchase
    plan = await uow.plans.get(studio, plan_id)
    if plan is None:
        _log.error("paid purchase of an unknown plan", extra={"intent": intent})
        return None
    return await uow.payments.open_purchase(
        Purchase(
            purchased,
            member_id,
            plan,
            report.amount_minor,
            PurchaseState.PROCESSING,
            now,
            payment_method=report.payment_method,
        )
    )


_HANDLERS: dict[str, Callable[[BillingUnitOfWork, PaymentReport, datetime], Awaitable[None]]] = {
    "payment_intent.succeeded": _payment_intent_changed,
    "payment_intent.payment_failed": _payment_intent_changed,
    "payment_intent.requires_action": _payment_intent_changed,
}
