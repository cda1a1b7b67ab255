"""What Billing's payment ports speak, whoever the provider is: a payment's outcome, a saved
card, a provider's event about a payment, a customer the provider no longer knows, and how
long an attempt in flight keeps others from repeating it.

Every call to a provider follows one shape: reserve (a short transaction records the attempt
and claims it until `ATTEMPT_LEASE` from now), call (no transaction or lock open), settle (a
short transaction applies the answer and ends the claim). An attempt whose claim has run out
is presumed dead, and may be repeated with the same idempotency key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from stride.billing.domain.purchases import PurchaseState

# A payment's failure code when the card on file is gone with its customer (deleted at the
# provider): only the member can fix it, by adding a card.
SAVED_CARD_GONE = "saved_card_gone"

# Longer than the slowest call an attempt makes (three tries of eight seconds, for each of up
# to four provider requests), so a live attempt is never taken for a dead one.
ATTEMPT_LEASE = timedelta(minutes=2)


def claimable(claimed_until: datetime | None, now: datetime) -> bool:
    """Whether nobody is working on an attempt: never claimed, released, or its claim ran out."""
    return claimed_until is None or claimed_until <= now


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


class CustomerGone(Exception):
    """The provider no longer knows the member's customer (deleted in its dashboard, or a test
    account reset): the cards saved under it are gone with it."""

    def __init__(self, customer: str) -> None:
        super().__init__(f"payment customer {customer} no longer exists")
        self.customer = customer
