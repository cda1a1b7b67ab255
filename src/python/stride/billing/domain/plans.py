"""What studios sell: memberships and class packs, priced in minor units before VAT."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from stride.billing.domain.money import BASIS_POINTS, check_currency
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.resource_names import parse_resource_name

MAX_COMMITMENT_PERIODS = 24
MAX_TRIAL_DAYS = 60
MAX_PRICE_MINOR = 100_000_000  # SAR 1,000,000.00: far above any real plan, far below overflow.


class PlanKind(enum.Enum):
    MONTHLY_MEMBERSHIP = "monthly_membership"
    ANNUAL_MEMBERSHIP = "annual_membership"
    CLASS_PACK = "class_pack"


@dataclass(frozen=True)
class Plan:
    id: uuid.UUID
    studio: str  # slug
    display_name_en: str
    display_name_ar: str
    kind: PlanKind
    currency: str
    price_minor: int  # Before VAT.
    vat_rate_basis_points: int
    credits: int = 0
    valid_days: int = 0
    # Memberships: a lower price for the first period (an intro offer), how many periods a
    # member commits to before cancelling takes effect, and free days before the first period
    # (a member's first membership at a studio only).
    intro_price_minor: int | None = None
    commitment_periods: int = 0
    trial_days: int = 0
    # Memberships: what each family member added to it costs per period, if that is offered.
    add_on_price_minor: int | None = None

    @property
    def resource_name(self) -> str:
        return f"studios/{self.studio}/plans/{self.id}"


def validate_plan(
    studio: str,
    display_name_en: str,
    display_name_ar: str,
    kind: PlanKind | None,
    currency: str,
    price_minor: int,
    vat_rate_basis_points: int,
    credits: int,
    valid_days: int,
    *,
    intro_price_minor: int | None = None,
    commitment_periods: int = 0,
    trial_days: int = 0,
    add_on_price_minor: int | None = None,
) -> Plan:
    violations = [
        FieldViolation(f"plan.{name}", "field.required")
        for name, value in (
            ("display_name_en", display_name_en),
            ("display_name_ar", display_name_ar),
        )
        if not value.strip()
    ]
    if kind is None:
        violations.append(FieldViolation("plan.kind", "field.required"))
    try:
        check_currency(currency, "plan.price.currency_code")
    except InvalidArgument as error:
        violations += error.violations
    if not 0 <= price_minor <= MAX_PRICE_MINOR:
        violations.append(
            FieldViolation(
                "plan.price.amount_minor", "field.out_of_range", {"min": 0, "max": MAX_PRICE_MINOR}
            )
        )
    if not 0 <= vat_rate_basis_points <= BASIS_POINTS:
        violations.append(
            FieldViolation(
                "plan.vat_rate_basis_points", "field.out_of_range", {"min": 0, "max": BASIS_POINTS}
            )
        )
    if kind is PlanKind.CLASS_PACK and not (1 <= credits <= 500 and 1 <= valid_days <= 730):
        violations.append(FieldViolation("plan.credits", "plan.pack_needs_credits_and_days"))
    violations += _membership_terms(
        kind, price_minor, intro_price_minor, commitment_periods, trial_days, add_on_price_minor
    )
    if violations or kind is None:
        raise InvalidArgument(violations)
    return Plan(
        uuid.uuid4(),
        studio,
        display_name_en.strip(),
        display_name_ar.strip(),
        kind,
        currency,
        price_minor,
        vat_rate_basis_points,
        credits if kind is PlanKind.CLASS_PACK else 0,
        valid_days if kind is PlanKind.CLASS_PACK else 0,
        intro_price_minor,
        commitment_periods,
        trial_days,
        add_on_price_minor,
    )


def _membership_terms(
    kind: PlanKind | None,
    price_minor: int,
    intro_price_minor: int | None,
    commitment_periods: int,
    trial_days: int,
    add_on_price_minor: int | None,
) -> list[FieldViolation]:
    if kind is PlanKind.CLASS_PACK and (
        intro_price_minor is not None
        or commitment_periods
        or trial_days
        or add_on_price_minor is not None
    ):
        return [FieldViolation("plan.kind", "plan.terms_for_memberships")]
    violations = []
    if intro_price_minor is not None and not 0 <= intro_price_minor < price_minor:
        violations.append(
            FieldViolation(
                "plan.intro_price.amount_minor",
                "field.out_of_range",
                {"min": 0, "max": max(price_minor - 1, 0)},
            )
        )
    if not 0 <= commitment_periods <= MAX_COMMITMENT_PERIODS:
        violations.append(
            FieldViolation(
                "plan.commitment_periods",
                "field.out_of_range",
                {"min": 0, "max": MAX_COMMITMENT_PERIODS},
            )
        )
    if not 0 <= trial_days <= MAX_TRIAL_DAYS:
        violations.append(
            FieldViolation(
                "plan.trial_days", "field.out_of_range", {"min": 0, "max": MAX_TRIAL_DAYS}
            )
        )
    if add_on_price_minor is not None and not 0 <= add_on_price_minor <= price_minor:
        violations.append(
            FieldViolation(
                "plan.add_on_price.amount_minor",
                "field.out_of_range",
                {"min": 0, "max": price_minor},
            )
        )
    return violations


def parse_plan_name(name: str, field: str) -> tuple[str, uuid.UUID]:
    """`studios/{studio}/plans/{plan}` → (studio slug, plan id)."""
    slug, plan = parse_resource_name(
        name, ("studios", "plans"), field=field, message_key="plan.invalid_name"
    )
    try:
        return slug, uuid.UUID(plan)
    except ValueError:
        raise InvalidArgument([FieldViolation(field, "plan.invalid_name")]) from None
