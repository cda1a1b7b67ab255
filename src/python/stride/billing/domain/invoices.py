"""Invoices: numbered without gaps, never changed once issued, one line per thing charged or
given back, VAT per line in minor units (the lines add up to the totals exactly)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from stride.billing.domain.money import BASIS_POINTS, MINOR_DIGITS, Line, line, round_half_up
from stride.billing.domain.plans import Plan


@dataclass(frozen=True)
class Invoice:
    id: uuid.UUID
    number: int  # Gapless across the platform, in issue order.
    member_id: uuid.UUID
    studio: str  # slug
    currency: str
    issued: datetime
    lines: tuple[Line, ...]
    source: str  # What it bills: a purchase, a subscription period, a refund.

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/invoices/{self.id}"

    @property
    def display_number(self) -> str:
        return f"INV-{self.number:08d}"

    @property
    def net_minor(self) -> int:
        return sum(item.net_minor for item in self.lines)

    @property
    def vat_minor(self) -> int:
        return sum(item.vat_minor for item in self.lines)

    @property
    def total_minor(self) -> int:
        return self.net_minor + self.vat_minor


def plan_lines(plan: Plan, description_key: str = "line.plan") -> tuple[Line, ...]:
    return (line(description_key, plan.price_minor, plan.vat_rate_basis_points),)


def purchase_lines(plan: Plan) -> tuple[Line, ...]:
    """What buying a plan charges: a pack, or a membership's first period (at its intro price
    when the plan has one)."""
    if plan.intro_price_minor is not None:
        return (line("line.intro_period", plan.intro_price_minor, plan.vat_rate_basis_points),)
    return plan_lines(plan)


def refund_lines(gross_minor: int, rate_basis_points: int) -> tuple[Line, ...]:
    """A refund of `gross_minor` (VAT included) as one negative line whose net and VAT add up
    to exactly that amount."""
    net = round_half_up(Fraction(gross_minor * BASIS_POINTS, BASIS_POINTS + rate_basis_points))
    return (Line("line.refund", -net, -(gross_minor - net)),)


def format_amount(amount_minor: int, currency: str) -> str:
    """`SAR 345.00`: minor units shown with the currency's own number of digits."""
    digits = MINOR_DIGITS[currency]
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**digits)
    return f"{currency} {sign}{whole:,}.{fraction:0{digits}d}"
