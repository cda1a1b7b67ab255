"""Money in integer minor units (halalas, fils, cents), VAT, and proration — never floats.

Every amount is an `int` of the currency's minor unit. Rounding happens once per line, half
up (away from zero for the rare negative line), and a document's total is the sum of its
rounded lines, so the lines always add up to the total exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from stride.platform.errors import FieldViolation, InvalidArgument

# ISO 4217 currencies Stride sells in, and the digits of their minor unit.
MINOR_DIGITS = {"SAR": 2, "AED": 2, "USD": 2, "KWD": 3, "BHD": 3}
BASIS_POINTS = 10_000


def check_currency(currency: str, field: str) -> str:
    if currency not in MINOR_DIGITS:
        choices = ", ".join(sorted(MINOR_DIGITS))
        raise InvalidArgument([FieldViolation(field, "field.invalid_choice", {"choices": choices})])
    return currency


def round_half_up(value: Fraction) -> int:
    """Nearest integer; halves go away from zero (a refund line rounds like a charge)."""
    magnitude = (abs(value) * 2 + 1) // 2
    return int(magnitude if value >= 0 else -magnitude)


def vat(net_minor: int, rate_basis_points: int) -> int:
    """VAT on one line, e.g. 15 % is 1500 basis points."""
    return round_half_up(Fraction(net_minor * rate_basis_points, BASIS_POINTS))


def prorated(amount_minor: int, used_from: datetime, start: datetime, end: datetime) -> int:
    """The part of `amount_minor` for a period [start, end) that falls after `used_from`."""
    if not start <= used_from <= end or end <= start:
        raise ValueError("the change must fall inside the billing period")
    remaining = Fraction(int((end - used_from).total_seconds()), int((end - start).total_seconds()))
    return round_half_up(amount_minor * remaining)


@dataclass(frozen=True)
class Line:
    description_key: str  # i18n key of the line, e.g. `line.plan`, `line.unused_time`.
    net_minor: int
    vat_minor: int

    @property
    def total_minor(self) -> int:
        return self.net_minor + self.vat_minor


def line(description_key: str, net_minor: int, rate_basis_points: int) -> Line:
    return Line(description_key, net_minor, vat(net_minor, rate_basis_points))


@dataclass(frozen=True)
class Quote:
    currency: str
    lines: tuple[Line, ...]

    @property
    def net_minor(self) -> int:
        return sum(item.net_minor for item in self.lines)

    @property
    def vat_minor(self) -> int:
        return sum(item.vat_minor for item in self.lines)

    @property
    def total_minor(self) -> int:
        return self.net_minor + self.vat_minor


def plan_change_quote(
    currency: str,
    rate_basis_points: int,
    old_price_minor: int,
    new_price_minor: int,
    period_start: datetime,
    period_end: datetime,
    change_at: datetime,
) -> Quote:
    """Switching plans mid-period: a credit for the old plan's unused time, a charge for the new
    plan's remaining time, VAT on each line."""
    credit = -prorated(old_price_minor, change_at, period_start, period_end)
    charge = prorated(new_price_minor, change_at, period_start, period_end)
    return Quote(
        currency,
        (
            line("line.unused_time", credit, rate_basis_points),
            line("line.remaining_time", charge, rate_basis_points),
        ),
    )
