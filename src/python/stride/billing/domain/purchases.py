"""Buying a plan (a class pack, or a membership's first period): what is charged, and how a
purchase's state follows the payment.

Stripe reports a payment twice over — in the answer to our call and in webhooks — and webhooks
come late, twice or out of order. A purchase's state therefore only moves forward in one
order, and whatever order the reports arrive in, it ends in the same state.
"""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from stride.billing.domain.money import line
from stride.billing.domain.plans import Plan
from stride.platform.errors import FailedPrecondition, FieldViolation, InvalidArgument
from stride.platform.request_ids import MAX_REQUEST_ID_LENGTH

_PURCHASES = uuid.UUID("0b5c8a52-39a8-4d2e-9a55-5c0f8d1f3a61")
_REFUNDS = uuid.UUID("5f0e3c1a-7d1b-4f0a-8e43-2b9d6a7c4e10")
MAX_REASON_LENGTH = 500
_PAYMENT_METHOD = re.compile(r"^pm_[A-Za-z0-9_]{1,250}$")


class PurchaseState(enum.Enum):
    # Declared in the order a purchase moves through them: it only ever moves down this list.
    PROCESSING = "processing"
    REQUIRES_ACTION = "requires_action"
    FAILED = "failed"  # A failed payment can still be completed (the app retries the card).
    SUCCEEDED = "succeeded"


_ORDER = list(PurchaseState)


def settle(current: PurchaseState, reported: PurchaseState) -> PurchaseState:
    """The state after a report: the later of the two in the one order states move in."""
    return max(current, reported, key=_ORDER.index)


@dataclass(frozen=True)
class Purchase:
    id: uuid.UUID
    member_id: uuid.UUID
    plan: Plan
    amount_minor: int  # VAT included.
    state: PurchaseState
    created: datetime
    payment_intent: str = ""  # Stripe's `pi_…`, once one exists.
    entitlement_id: uuid.UUID | None = None
    failure_code: str = ""
    refunded_minor: int = 0
    payment_method: str = ""  # Kept for a membership's renewals.
    financing_payment: str = ""  # Paid through a buy-now-pay-later partner instead of a card.
    financing_url: str = ""
    trial_days: int = 0  # Starts a membership's free trial: nothing is charged now.
    attempt_until: datetime | None = None  # While an attempt asks the provider (see payments).

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/purchases/{self.id}"

    @property
    def fully_refunded(self) -> bool:
        return self.refunded_minor == self.amount_minor > 0

    @property
    def idempotency_key(self) -> str:
        """Stripe's idempotency key for this purchase's charge: one per purchase, ever."""
        return f"purchase-{self.id}"

    def pack_period(self, paid: datetime) -> tuple[datetime, datetime]:
        return paid, paid + timedelta(days=self.plan.valid_days)


def purchase_id(member_id: uuid.UUID, request_id: str) -> uuid.UUID:
    """A member's request id names exactly one purchase, so a retried request finds it."""
    return uuid.uuid5(_PURCHASES, f"{member_id}/{request_id}")


def plan_total(plan: Plan) -> int:
    """A plan's price with its VAT, in minor units: a pack, or one period of a membership."""
    return line("line.plan", plan.price_minor, plan.vat_rate_basis_points).total_minor


def validate_purchase_request(payment_method: str, request_id: str) -> None:
    violations = _payment_method_violations(payment_method) + _request_id_violations(request_id)
    if violations:
        raise InvalidArgument(violations)


def validate_payment_method(payment_method: str) -> None:
    """Only a token for a card saved with Stripe (`pm_…`), never card data."""
    if violations := _payment_method_violations(payment_method):
        raise InvalidArgument(violations)


def _payment_method_violations(payment_method: str) -> list[FieldViolation]:
    if _PAYMENT_METHOD.match(payment_method):
        return []
    return [FieldViolation("payment_method", "purchase.invalid_payment_method")]


def validate_request_id(request_id: str) -> None:
    """Money never moves without a request id: a retry must be recognised as one."""
    if violations := _request_id_violations(request_id):
        raise InvalidArgument(violations)


def _request_id_violations(request_id: str) -> list[FieldViolation]:
    if not request_id:
        return [FieldViolation("request_id", "field.required")]
    if len(request_id) > MAX_REQUEST_ID_LENGTH:
        return [FieldViolation("request_id", "field.too_long", {"max": MAX_REQUEST_ID_LENGTH})]
    return []


class RefundState(enum.Enum):
    PENDING = "pending"  # Reserved: its amount is spoken for while the provider is asked.
    SUCCEEDED = "succeeded"


@dataclass(frozen=True)
class Refund:
    id: uuid.UUID
    member_id: uuid.UUID
    purchase_id: uuid.UUID
    currency: str
    amount_minor: int
    reason: str
    refunded_by: uuid.UUID
    created: datetime
    provider_refund: str = ""  # Stripe's `re_…`, or the financing partner's id.
    state: RefundState = RefundState.PENDING
    attempt_until: datetime | None = None  # While an attempt asks the provider.

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/purchases/{self.purchase_id}/refunds/{self.id}"

    @property
    def idempotency_key(self) -> str:
        """Stripe's idempotency key for this refund: one per refund, ever."""
        return f"refund-{self.id}"


def refund_id(purchase: uuid.UUID, request_id: str) -> uuid.UUID:
    return uuid.uuid5(_REFUNDS, f"{purchase}/{request_id}")


def refund_amount(
    purchase: Purchase,
    amount_minor: int | None,
    currency: str | None,
    reason: str,
    pending_minor: int = 0,
) -> int:
    """What a refund gives back: the amount asked for, or all that is neither refunded nor
    being refunded (`pending_minor`) yet. Never more than was paid, in all."""
    if purchase.state is not PurchaseState.SUCCEEDED or purchase.amount_minor == 0:
        raise FailedPrecondition("PURCHASE_NOT_PAID", "refund.not_paid")
    if purchase.refunded_minor == purchase.amount_minor:
        raise FailedPrecondition("ALREADY_REFUNDED", "refund.already_refunded")
    remaining = purchase.amount_minor - purchase.refunded_minor - pending_minor
    if remaining == 0:
        raise FailedPrecondition("REFUND_IN_PROGRESS", "refund.in_progress")
    violations = []
    if not reason.strip():
        violations.append(FieldViolation("reason", "field.required"))
    elif len(reason) > MAX_REASON_LENGTH:
        violations.append(FieldViolation("reason", "field.too_long", {"max": MAX_REASON_LENGTH}))
    if currency is not None and currency != purchase.plan.currency:
        violations.append(
            FieldViolation(
                "amount.currency_code", "field.invalid_choice", {"choices": purchase.plan.currency}
            )
        )
    amount = remaining if amount_minor is None else amount_minor
    if not 1 <= amount <= remaining:
        violations.append(
            FieldViolation(
                "amount.amount_minor", "field.out_of_range", {"min": 1, "max": remaining}
            )
        )
    if violations:
        raise InvalidArgument(violations)
    return amount
