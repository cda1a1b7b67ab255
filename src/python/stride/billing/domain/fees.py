"""Fees for late cancellations and no-shows, set per studio.

Only bookings made with a membership pay them: a class pack already loses the credit the
booking held, which is its penalty. Prices are before VAT, in minor units, like plans.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from stride.billing.domain.money import BASIS_POINTS, Line, check_currency, line
from stride.platform.errors import FieldViolation, InvalidArgument

MAX_FEE_MINOR = 100_000  # SAR 1,000.00: a penalty, not a price list.
_FEES = uuid.UUID("3c7a9e21-0f4d-4b8e-a6d2-81f5c0e4b9a7")


class FeeKind(enum.Enum):
    LATE_CANCEL = "late_cancel"
    NO_SHOW = "no_show"


class FeeState(enum.Enum):
    PENDING = "pending"  # Recorded; the card on file is charged shortly.
    PAID = "paid"
    UNPAID = "unpaid"  # No saved card, or the card was declined: the studio collects it.


@dataclass(frozen=True)
class StudioFees:
    studio: str  # slug
    currency: str
    late_cancel_minor: int
    no_show_minor: int
    vat_rate_basis_points: int

    @property
    def resource_name(self) -> str:
        return f"studios/{self.studio}/fees"

    def lines(self, kind: FeeKind) -> tuple[Line, ...]:
        """The fee as invoice lines; none when the studio charges nothing for it."""
        net = self.late_cancel_minor if kind is FeeKind.LATE_CANCEL else self.no_show_minor
        return (line(f"line.{kind.value}_fee", net, self.vat_rate_basis_points),) if net else ()


def validate_fees(
    studio: str,
    currency: str,
    late_cancel_minor: int,
    no_show_minor: int,
    vat_rate_basis_points: int,
) -> StudioFees:
    violations: list[FieldViolation] = []
    try:
        check_currency(currency, "fees.late_cancel_fee.currency_code")
    except InvalidArgument as error:
        violations += error.violations
    for field, amount in (
        ("fees.late_cancel_fee.amount_minor", late_cancel_minor),
        ("fees.no_show_fee.amount_minor", no_show_minor),
    ):
        if not 0 <= amount <= MAX_FEE_MINOR:
            violations.append(
                FieldViolation(field, "field.out_of_range", {"min": 0, "max": MAX_FEE_MINOR})
            )
    if not 0 <= vat_rate_basis_points <= BASIS_POINTS:
        violations.append(
            FieldViolation(
                "fees.vat_rate_basis_points", "field.out_of_range", {"min": 0, "max": BASIS_POINTS}
            )
        )
    if violations:
        raise InvalidArgument(violations)
    return StudioFees(studio, currency, late_cancel_minor, no_show_minor, vat_rate_basis_points)


def updated_fees(
    current: StudioFees | None,
    studio: str,
    currency: str | None,
    late_cancel_minor: int | None,
    no_show_minor: int | None,
    vat_rate_basis_points: int | None,
) -> StudioFees:
    """A studio's fees after an update that names some of them (None: unchanged; a studio
    without fees yet has 0 for each). Both fees share one currency (None: unchanged), so a fee
    moved to another currency needs the other moved with it, or 0."""
    base = current or StudioFees(studio, "", 0, 0, 0)
    if currency is not None and base.currency not in ("", currency):
        kept = [  # Fees this update leaves as they are, in the old currency.
            name
            for name, changed, amount in (
                ("late_cancel_fee", late_cancel_minor, base.late_cancel_minor),
                ("no_show_fee", no_show_minor, base.no_show_minor),
            )
            if changed is None and amount
        ]
        if kept:
            raise InvalidArgument(
                [FieldViolation(f"fees.{kept[0]}.currency_code", "fees.one_currency")]
            )
    return validate_fees(
        studio,
        base.currency if currency is None else currency,
        base.late_cancel_minor if late_cancel_minor is None else late_cancel_minor,
        base.no_show_minor if no_show_minor is None else no_show_minor,
        base.vat_rate_basis_points if vat_rate_basis_points is None else vat_rate_basis_points,
    )


@dataclass(frozen=True)
class Fee:
    id: uuid.UUID
    member_id: uuid.UUID
    studio: str
    booking: str  # `users/{user}/bookings/{booking}`
    kind: FeeKind
    currency: str
    amount_minor: int  # VAT included.
    vat_minor: int
    state: FeeState = FeeState.PENDING
    # The card on file when the fee was recorded (Stripe's customer and `pm_…`); every attempt
    # charges that one, so a repeat has the parameters of the first.
    customer: str = ""
    payment_method: str = ""
    payment_intent: str = ""
    claimed_until: datetime | None = None  # While an attempt charges it.

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/fees/{self.id}"

    @property
    def idempotency_key(self) -> str:
        return f"fee-{self.id}"

    @property
    def lines(self) -> tuple[Line, ...]:
        """The fee as invoiced: the price and VAT it was recorded with."""
        net = self.amount_minor - self.vat_minor
        return (Line(f"line.{self.kind.value}_fee", net, self.vat_minor),)


def fee_id(booking: str, kind: FeeKind) -> uuid.UUID:
    """One fee of a kind per booking, however often the event arrives."""
    return uuid.uuid5(_FEES, f"{booking}/{kind.value}")
