"""Late-cancel and no-show fees: studios set their prices; Billing records a fee when
Scheduling reports a late cancellation or a no-show of a booking made with a membership, and
charges it to the card on file shortly after (reserve, call, settle: see `domain.payments`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from stride.billing.domain.entitlements import Kind
from stride.billing.domain.fees import Fee, FeeKind, FeeState, StudioFees, fee_id, updated_fees
from stride.billing.domain.payments import (
    ATTEMPT_LEASE,
    SAVED_CARD_GONE,
    CustomerGone,
    PaymentOutcome,
)
from stride.billing.domain.purchases import PurchaseState
from stride.billing.events.v1 import events_pb2
from stride.billing.service_layer.commands import UpdateFees
from stride.billing.service_layer.handlers import STAFF
from stride.billing.service_layer.invoices import issue_invoice
from stride.billing.service_layer.payments import PAYMENT_FAILED, PAYMENT_SUCCEEDED, Charges
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.auth import current_principal, require_role_in_studio
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import NotFound
from stride.platform.resource_names import parse_resource_name, parse_uuid_ids
from stride.scheduling.events.v1.events_pb2 import BookingChanged

LATE_CANCELLED = "scheduling.booking.late_cancelled.v1"
NO_SHOW = "scheduling.attendance.no_show.v1"
_KINDS = {LATE_CANCELLED: FeeKind.LATE_CANCEL, NO_SHOW: FeeKind.NO_SHOW}


async def get_fees(uow: BillingUnitOfWork, studio: str) -> StudioFees:
    current_principal()
    async with uow:
        prices = await uow.fees.prices(studio)
    if prices is None:
        raise NotFound("FEES_NOT_SET", "fees.not_set")
    return prices


async def update_fees(
    uow: BillingUnitOfWork, command: UpdateFees, clock: Clock = utcnow
) -> StudioFees:
    """Changes the fees the command names; the studio's prices stay locked from reading them
    to writing them, so two updates of different fees at once both take effect."""
    manager = require_role_in_studio(f"studios/{command.studio}", *STAFF)
    now = clock()
    async with uow:
        prices = updated_fees(
            await uow.fees.prices(command.studio, lock=True),
            command.studio,
            command.currency,
            command.late_cancel_minor,
            command.no_show_minor,
            command.vat_rate_basis_points,
        )
        await uow.fees.set_prices(prices, now)
        await uow.audit.append(
            now,
            f"users/{manager.user_id}",
            "fees.set",
            prices.resource_name,
            {
                "currency": prices.currency,
                "late_cancel_minor": prices.late_cancel_minor,
                "no_show_minor": prices.no_show_minor,
                "vat_rate_basis_points": prices.vat_rate_basis_points,
            },
        )
        await uow.commit()
    return prices


async def record_fee(envelope: Envelope, uow: BillingUnitOfWork, clock: Clock = utcnow) -> None:
    """Consumes a late cancellation or a no-show, in the consumer's unit of work (its inbox row
    makes a redelivery a no-op; the fee's own id backs that up). The fee is recorded pending,
    with the card on file it will be charged to; `collect_fees` charges it, outside any
    transaction. Without a card it is unpaid at once."""
    changed = BookingChanged()
    envelope.data.Unpack(changed)
    member_id, booking_id = parse_uuid_ids(
        changed.booking, ("users", "bookings"), field="booking", message_key="booking.invalid_name"
    )
    studio, _ = parse_resource_name(
        changed.class_session,
        ("studios", "classSessions"),
        field="class_session",
        message_key="studio.invalid_name",
    )
    if not await _paid_with_membership(uow, member_id, booking_id):
        return  # A class pack keeps the held credit instead; no booking held nothing.
    prices = await uow.fees.prices(studio)
    kind = _KINDS[envelope.type]
    lines = prices.lines(kind) if prices else ()
    if prices is None or not lines:
        return
    customer = await uow.payments.customer(member_id)
    card = await uow.fees.card_on_file(member_id)
    fee = Fee(
        fee_id(changed.booking, kind),
        member_id,
        studio,
        changed.booking,
        kind,
        prices.currency,
        sum(item.total_minor for item in lines),
        sum(item.vat_minor for item in lines),
        FeeState.PENDING if customer and card else FeeState.UNPAID,
        customer or "",
        card or "",
    )
    if await uow.fees.open(fee, clock()) and fee.state is FeeState.UNPAID:
        _announce(uow, fee, PAYMENT_FAILED, "no_card_on_file")


async def collect_fees(
    new_uow: Callable[[], BillingUnitOfWork], payments: Charges, clock: Clock = utcnow
) -> int:
    """Charges every pending fee to the card it was recorded with; how many it settled. Each
    is claimed in a short transaction (collectors side by side skip each other's), charged
    with none open, and settled in another. If Stripe does not answer, the fee stays claimed
    until the claim runs out and a later run charges it again with the same idempotency key,
    so it is paid once."""
    collected = 0
    while await _collect_next(new_uow(), payments, clock()):
        collected += 1
    return collected


async def _collect_next(uow: BillingUnitOfWork, payments: Charges, now: datetime) -> bool:
    async with uow:
        claimed = await uow.fees.claim_pending(now, now + ATTEMPT_LEASE)
        if claimed is None:
            return False
        await uow.commit()
    try:
        outcome = await payments.charge(
            claimed.customer,
            claimed.payment_method,
            claimed.amount_minor,
            claimed.currency,
            claimed.idempotency_key,
            {"fee": claimed.resource_name},
            off_session=True,
        )
    except CustomerGone:  # No card on file any more: the studio collects it.
        outcome = PaymentOutcome(PurchaseState.FAILED, failure_code=SAVED_CARD_GONE)
    async with uow:
        fee = await uow.fees.pending(claimed.id)
        if fee is not None:  # Else an attempt that outlived its claim settled it first.
            await _settle(uow, fee, outcome, now)
        await uow.commit()
    return True


async def _paid_with_membership(
    uow: BillingUnitOfWork, member_id: uuid.UUID, booking_id: uuid.UUID
) -> bool:
    hold = await uow.entitlements.hold(booking_id)
    if hold is None or hold.member_id != member_id:
        return False
    used = await uow.entitlements.get(hold.entitlement_id)
    return used is not None and used.kind is Kind.MEMBERSHIP


async def _settle(uow: BillingUnitOfWork, fee: Fee, outcome: PaymentOutcome, now: datetime) -> None:
    """A paid fee is invoiced and audited; a declined one stays unpaid for the studio."""
    if outcome.state is not PurchaseState.SUCCEEDED:
        unpaid = replace(fee, state=FeeState.UNPAID, payment_intent=outcome.payment_intent)
        await uow.fees.settle(unpaid)
        _announce(uow, unpaid, PAYMENT_FAILED, outcome.failure_code or outcome.state.value)
        return
    paid = replace(fee, state=FeeState.PAID, payment_intent=outcome.payment_intent)
    await uow.fees.settle(paid)
    await issue_invoice(
        uow, fee.member_id, fee.studio, fee.currency, fee.lines, fee.resource_name, now
    )
    await uow.audit.append(
        now,
        "billing-fees",
        "fee.charged",
        fee.resource_name,
        {
            "booking": fee.booking,
            "kind": fee.kind.value,
            "currency": fee.currency,
            "amount_minor": fee.amount_minor,
            "payment_intent": paid.payment_intent,
        },
    )
    _announce(uow, paid, PAYMENT_SUCCEEDED, "")


def _announce(uow: BillingUnitOfWork, fee: Fee, event_type: str, failure_code: str) -> None:
    uow.publish(
        event_type,
        subject=fee.resource_name,
        payload=events_pb2.PaymentChanged(
            fee=fee.resource_name,
            member=f"users/{fee.member_id}",
            currency_code=fee.currency,
            amount_minor=fee.amount_minor,
            failure_code=failure_code,
        ),
    )
