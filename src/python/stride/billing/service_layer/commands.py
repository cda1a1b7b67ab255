"""What callers ask Billing to do, independent of the transport that carried the request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from stride.billing.domain.entitlements import Kind
from stride.billing.domain.plans import PlanKind


@dataclass(frozen=True)
class CreatePlan:
    studio: str  # slug
    display_name_en: str
    display_name_ar: str
    kind: PlanKind | None
    currency: str
    price_minor: int
    vat_rate_basis_points: int
    credits: int = 0
    valid_days: int = 0
    intro_price_minor: int | None = None
    commitment_periods: int = 0
    trial_days: int = 0
    add_on_price_minor: int | None = None


@dataclass(frozen=True)
class QuotePlanChange:
    studio: str
    from_plan_id: uuid.UUID
    to_plan_id: uuid.UUID
    period_start: datetime
    period_end: datetime
    change_at: datetime | None  # None: now.


@dataclass(frozen=True)
class GrantEntitlement:
    member_id: uuid.UUID
    kind: Kind | None
    studio: str  # `studios/{studio}`, or "" for every studio.
    credits: int
    start: datetime | None  # None: now.
    expire: datetime
    reason: str = ""


@dataclass(frozen=True)
class HoldCredit:
    member_id: uuid.UUID
    booking: str  # `users/{user}/bookings/{booking}`
    hold_id: uuid.UUID  # The booking's id: one hold per booking.
    studio: str
    class_start: datetime


@dataclass(frozen=True)
class PurchasePlan:
    member_id: uuid.UUID
    studio: str
    plan_id: uuid.UUID
    payment_method: str  # `pm_…`
    request_id: str


@dataclass(frozen=True)
class FinancePlan:
    member_id: uuid.UUID
    studio: str
    plan_id: uuid.UUID
    provider: str
    buyer_email: str
    request_id: str


@dataclass(frozen=True)
class RefundPurchase:
    member_id: uuid.UUID
    purchase_id: uuid.UUID
    amount_minor: int | None  # None: all that is not refunded yet.
    currency: str | None
    reason: str
    request_id: str


@dataclass(frozen=True)
class PauseSubscription:
    member_id: uuid.UUID
    subscription_id: uuid.UUID
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ChangePlan:
    member_id: uuid.UUID
    subscription_id: uuid.UUID
    studio: str
    plan_id: uuid.UUID
    request_id: str


@dataclass(frozen=True)
class AddFamilyMember:
    holder_id: uuid.UUID
    subscription_id: uuid.UUID
    member_id: uuid.UUID
    request_id: str


@dataclass(frozen=True)
class ChangePaymentMethod:
    member_id: uuid.UUID
    subscription_id: uuid.UUID
    payment_method: str  # `pm_…`


@dataclass(frozen=True)
class UpdateFees:
    """The fees an update names; None leaves one as it is."""

    studio: str  # slug
    currency: str | None  # Of the fees named; both fees share one.
    late_cancel_minor: int | None
    no_show_minor: int | None
    vat_rate_basis_points: int | None
