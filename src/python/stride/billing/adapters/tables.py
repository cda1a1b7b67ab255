"""Billing's tables. Schema changes go through the Alembic versions beside this file."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class EntitlementRecord(SQLModel, table=True):
    __tablename__ = "entitlements"
    __table_args__ = (
        CheckConstraint("credits_remaining >= 0 AND credits_remaining <= credits_total", "credits"),
    )

    id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID = Field(index=True)
    kind: str = Field(max_length=16)
    studio: str = Field(max_length=72)
    credits_total: int = Field(sa_column=Column(Integer, nullable=False))
    credits_remaining: int = Field(sa_column=Column(Integer, nullable=False))
    start_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expire_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    paused_from: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    paused_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class HoldRecord(SQLModel, table=True):
    __tablename__ = "holds"

    id: uuid.UUID = Field(primary_key=True)  # The booking's id: one hold per booking.
    member_id: uuid.UUID = Field(index=True)
    booking: str = Field(sa_column=Column(String(100), nullable=False))
    studio: str = Field(max_length=72)
    class_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    entitlement_id: uuid.UUID = Field(foreign_key="entitlements.id")
    state: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    released_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # When Scheduling last asked for it, and when its booking was seen to exist: a hold still
    # unverified long after the last ask is a booking that was never made (reconciliation).
    requested_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    verified_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class PlanRecord(SQLModel, table=True):
    __tablename__ = "plans"

    id: uuid.UUID = Field(primary_key=True)
    studio: str = Field(max_length=63, index=True)
    display_name_en: str = Field(max_length=120)
    display_name_ar: str = Field(max_length=120)
    kind: str = Field(max_length=24)
    currency: str = Field(max_length=3)
    price_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    vat_rate_basis_points: int
    credits: int
    valid_days: int
    intro_price_minor: int | None = Field(default=None, sa_column=Column(BigInteger))
    commitment_periods: int = 0
    trial_days: int = 0
    add_on_price_minor: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AuditLogRecord(SQLModel, table=True):
    __tablename__ = "audit_log"

    sequence: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(max_length=100)
    action: str = Field(max_length=60)
    subject: str = Field(max_length=200)
    details: str = Field(sa_column=Column(String, nullable=False))  # Canonical JSON.
    previous_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class PaymentCustomerRecord(SQLModel, table=True):
    __tablename__ = "payment_customers"

    member_id: uuid.UUID = Field(primary_key=True)
    customer: str = Field(max_length=64, unique=True)  # Stripe's `cus_…`.


class PurchaseRecord(SQLModel, table=True):
    __tablename__ = "purchases"

    id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID = Field(index=True)
    plan_id: uuid.UUID = Field(foreign_key="plans.id")
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    state: str = Field(max_length=16)
    payment_intent: str = Field(default="", max_length=64)
    failure_code: str = Field(default="", max_length=64)
    entitlement_id: uuid.UUID | None = Field(default=None, foreign_key="entitlements.id")
    refunded_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    payment_method: str = Field(default="", max_length=255)
    financing_payment: str = Field(default="", max_length=128)  # A BNPL partner's payment id.
    financing_url: str = Field(default="", max_length=2048)  # Where the member approves it.
    trial_days: int = 0  # A membership's free trial this purchase starts (nothing charged).
    # While an attempt asks the provider: until when it keeps other attempts off.
    attempt_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SubscriptionRecord(SQLModel, table=True):
    __tablename__ = "subscriptions"

    id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID = Field(index=True)
    plan_id: uuid.UUID = Field(foreign_key="plans.id")
    pending_plan_id: uuid.UUID | None = Field(default=None, foreign_key="plans.id")
    state: str = Field(max_length=16)
    anchor: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    period_index: int
    payment_method: str = Field(max_length=255)
    entitlement_id: uuid.UUID = Field(foreign_key="entitlements.id", unique=True)
    cancel_at_period_end: bool
    failed_attempts: int
    paused_seconds: int  # Frozen time so far: it pushes every later period back.
    pause_start: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    pause_end: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    next_attempt: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    cancelled: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    trial_start: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SubscriptionChargeRecord(SQLModel, table=True):
    """A charge of a subscription's card in flight (one per subscription), deleted once its
    answer is applied."""

    __tablename__ = "subscription_charges"

    key: str = Field(primary_key=True, max_length=255)  # Stripe's idempotency key.
    subscription_id: uuid.UUID = Field(foreign_key="subscriptions.id", unique=True)
    member_id: uuid.UUID
    purpose: str = Field(max_length=16)
    customer: str = Field(max_length=64)
    payment_method: str = Field(max_length=255)
    currency: str = Field(max_length=3)
    lines: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    source: str = Field(max_length=200)
    target: uuid.UUID | None = Field(default=None)
    claimed_until: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SubscriptionAddOnRecord(SQLModel, table=True):
    """A family member on a membership, with the membership entitlement they hold."""

    __tablename__ = "subscription_add_ons"

    subscription_id: uuid.UUID = Field(foreign_key="subscriptions.id", primary_key=True)
    member_id: uuid.UUID = Field(primary_key=True)
    entitlement_id: uuid.UUID = Field(foreign_key="entitlements.id", unique=True)
    added_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class RefundRecord(SQLModel, table=True):
    __tablename__ = "refunds"

    id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID
    purchase_id: uuid.UUID = Field(foreign_key="purchases.id", index=True)
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    reason: str = Field(max_length=500)
    refunded_by: uuid.UUID
    provider_refund: str = Field(max_length=64)
    state: str = Field(max_length=16)  # Pending until the provider answers.
    attempt_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class StripeEventRecord(SQLModel, table=True):
    """Stripe events already handled: a redelivered one finds its id here and does nothing."""

    __tablename__ = "stripe_events"

    id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=100)
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class InvoiceNumberRecord(SQLModel, table=True):
    __tablename__ = "invoice_numbers"

    id: int = Field(primary_key=True)
    last: int = Field(sa_column=Column(BigInteger, nullable=False))


class InvoiceRecord(SQLModel, table=True):
    """Immutable once inserted (a trigger refuses updates and deletes)."""

    __tablename__ = "invoices"

    id: uuid.UUID = Field(primary_key=True)
    number: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    member_id: uuid.UUID = Field(index=True)
    studio: str = Field(max_length=63)
    currency: str = Field(max_length=3)
    issued_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    source: str = Field(max_length=255, unique=True)


class InvoiceLineRecord(SQLModel, table=True):
    __tablename__ = "invoice_lines"

    invoice_id: uuid.UUID = Field(foreign_key="invoices.id", primary_key=True)
    position: int = Field(primary_key=True)
    description_key: str = Field(max_length=64)
    net_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    vat_minor: int = Field(sa_column=Column(BigInteger, nullable=False))


class StudioFeesRecord(SQLModel, table=True):
    __tablename__ = "studio_fees"

    studio: str = Field(primary_key=True, max_length=63)
    currency: str = Field(max_length=3)
    late_cancel_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    no_show_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    vat_rate_basis_points: int
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class FeeRecord(SQLModel, table=True):
    __tablename__ = "fees"

    id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID = Field(index=True)
    studio: str = Field(max_length=63)
    booking: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    vat_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    state: str = Field(max_length=16)
    customer: str = Field(max_length=64)  # The card it is charged to, fixed when recorded.
    payment_method: str = Field(max_length=255)
    payment_intent: str = Field(max_length=64)
    # While an attempt charges it: until when it keeps other attempts off.
    claimed_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
