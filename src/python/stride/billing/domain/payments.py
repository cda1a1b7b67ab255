"""What Billing's payment ports speak, whoever the provider is: a payment's outcome, a saved
card, and a provider's event about a payment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stride.billing.domain.purchases import PurchaseState


@dataclass(frozen=True)
class PaymentOutcome:
    """What the provider says about one payment."""

    state: PurchaseState
    payment_intent: str = ""  # "" when the card was refused before an intent existed.
    client_secret: str = ""
    failure_code: str = ""


@dataclass(frozen=True)
class SavedCard:
    payment_method: str  # `pm_…`
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class PaymentReport:
    """A provider's event about one payment: its outcome and what we attached to it."""

    outcome: PaymentOutcome
    amount_minor: int
    payment_method: str
    metadata: Mapping[str, str]


@dataclass(frozen=True)
class ProviderEvent:
    id: str
    type: str
    payment: PaymentReport | None  # For events about a payment; None for any other.
