"""What Billing's use cases need from payment providers (Stripe's and Tabby's adapters
implement these ports, in the domain's terms)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Protocol

from stride.billing.domain.financing import Checkout, FinancingStatus
from stride.billing.domain.payments import (
    CustomerGone,
    PaymentOutcome,
    ProviderEvent,
    SavedCard,
)
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.auth import require_self_or_role

PAYMENT_SUCCEEDED = "billing.payment.succeeded.v1"
PAYMENT_FAILED = "billing.payment.failed.v1"


class Charges(Protocol):
    """All the renewer needs: charging a saved card."""

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


class PaymentProvider(Charges, Protocol):
    """Charges and saving cards raise `CustomerGone` when the provider no longer knows the
    customer they name."""

    async def create_customer(self, member_id: uuid.UUID, replacing: str = "") -> str:
        ...

    async def save_card(self, customer: str, payment_method: str) -> None:
        ...

    async def saved_cards(self, customer: str) -> list[SavedCard]:
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


class FinancingProvider(Protocol):
    """A buy-now-pay-later partner (Tabby's adapter implements it)."""

    name: str

    async def start_checkout(
        self,
        reference: str,
        amount_minor: int,
        currency: str,
        description: str,
        buyer_email: str,
        language: str,
    ) -> Checkout:
        ...

    async def status(self, payment_id: str) -> FinancingStatus:
        ...

    async def capture(
        self, payment_id: str, amount_minor: int, currency: str, reference: str
    ) -> None:
        ...

    async def refund(
        self, payment_id: str, amount_minor: int, currency: str, reference: str
    ) -> str:
        ...


class WebhookVerifier(Protocol):
    def verify(self, payload: bytes, signature: str) -> ProviderEvent:
        ...


async def list_payment_methods(
    uow: BillingUnitOfWork, payments: PaymentProvider, member_id: uuid.UUID
) -> list[SavedCard]:
    """The member's own saved cards; nobody else's, not even an admin's view. None if their
    customer is gone at the provider (the next card they give makes a new one)."""
    require_self_or_role(str(member_id))
    async with uow:
        customer = await uow.payments.customer(member_id)
    if customer is None:
        return []
    try:
        return await payments.saved_cards(customer)
    except CustomerGone:
        return []


async def replace_gone_customer(
    uow: BillingUnitOfWork, payments: PaymentProvider, member_id: uuid.UUID, gone: str
) -> str:
    """A new customer for a member whose customer the provider no longer knows, recorded in
    its place (a short transaction, after the provider's call). Only where the member is
    present with a card to save under it: off-session charges have none and fail instead."""
    created = await payments.create_customer(member_id, replacing=gone)
    async with uow:
        kept = await uow.payments.replace_customer(member_id, gone, created)
        await uow.commit()
    return kept
