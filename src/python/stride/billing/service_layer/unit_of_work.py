"""Billing's unit of work: the platform's, with Billing's repositories."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.billing.adapters.audit_repository import AuditRepository
from stride.billing.adapters.fee_repository import FeeRepository
from stride.billing.adapters.invoice_repository import InvoiceRepository
from stride.billing.adapters.repository import (
    EntitlementRepository,
    PaymentRepository,
    PlanRepository,
    SubscriptionRepository,
)
from stride.platform.db.uow import UnitOfWork

SOURCE = "billing"


class BillingUnitOfWork(UnitOfWork):
    entitlements: EntitlementRepository
    plans: PlanRepository
    audit: AuditRepository
    payments: PaymentRepository
    subscriptions: SubscriptionRepository
    invoices: InvoiceRepository
    fees: FeeRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, SOURCE)

    def _open_repositories(self, session: AsyncSession) -> None:
        self.entitlements = EntitlementRepository(session)
        self.plans = PlanRepository(session)
        self.audit = AuditRepository(session)
        self.payments = PaymentRepository(session)
        self.subscriptions = SubscriptionRepository(session)
        self.invoices = InvoiceRepository(session)
        self.fees = FeeRepository(session)
