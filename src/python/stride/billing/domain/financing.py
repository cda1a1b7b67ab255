"""Buy now, pay later: what a financing partner's checkout gives back and how its payment
stands, independent of the partner."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from stride.billing.domain.purchases import PurchaseState


class FinancingStatus(enum.Enum):
    PENDING = "pending"  # The member has not finished on the partner's page.
    AUTHORIZED = "authorized"  # Approved: ours to capture.
    CAPTURED = "captured"
    REJECTED = "rejected"  # Declined, cancelled or expired.

    @property
    def purchase_state(self) -> PurchaseState:
        return {
            FinancingStatus.PENDING: PurchaseState.REQUIRES_ACTION,
            FinancingStatus.AUTHORIZED: PurchaseState.REQUIRES_ACTION,
            FinancingStatus.CAPTURED: PurchaseState.SUCCEEDED,
            FinancingStatus.REJECTED: PurchaseState.FAILED,
        }[self]


@dataclass(frozen=True)
class Checkout:
    payment_id: str  # The partner's id for this payment.
    web_url: str  # Where the member approves the instalment plan.
