"""What Billing's use cases need from a payment provider (Stripe's adapter implements it)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Protocol

from stride.billing.adapters.stripe_payments import PaymentOutcome, StripeEvent

PAYMENT_SUCCEEDED = "billing.payment.succeeded.v1"
PAYMENT_FAILED = "billing.payment.failed.v1"


class PaymentProvider(Protocol):
    async def create_customer(self, member_id: uuid.UUID) -> str:
        ...

    async def charge(
        self,
        customer: str,
        payment_method: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
        *,
        off_session: bool = False,
    ) -> PaymentOutcome:
        ...

    async def save_card(self, customer: str, payment_method: str) -> None:
        ...

    async def payment(self, payment_intent: str) -> PaymentOutcome:
        ...

    async def refund(
        self,
        payment_intent: str,
        amount_minor: int,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> str:
        ...


class WebhookVerifier(Protocol):
    def verify(self, payload: bytes, signature: str) -> StripeEvent:
        ...
