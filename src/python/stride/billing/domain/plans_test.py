import pytest

from stride.billing.domain.plans import PlanKind, validate_plan
from stride.platform.errors import InvalidArgument


def membership(
    intro_price_minor: int | None,
    commitment_periods: int,
    trial_days: int = 0,
    add_on_price_minor: int | None = None,
) -> None:
    validate_plan(
        "olaya",
        "Monthly",
        "شهري",
        PlanKind.MONTHLY_MEMBERSHIP,
        "SAR",
        30_000,
        1500,
        0,
        0,
        intro_price_minor=intro_price_minor,
        commitment_periods=commitment_periods,
        trial_days=trial_days,
        add_on_price_minor=add_on_price_minor,
    )


def test_membership_terms_are_bounded() -> None:
    membership(intro_price_minor=0, commitment_periods=12, trial_days=60, add_on_price_minor=0)
    with pytest.raises(InvalidArgument) as refused:
        membership(
            intro_price_minor=30_000,
            commitment_periods=25,
            trial_days=61,
            add_on_price_minor=30_001,
        )
    assert [v.field for v in refused.value.violations] == [
        "plan.intro_price.amount_minor",
        "plan.commitment_periods",
        "plan.trial_days",
        "plan.add_on_price.amount_minor",
    ]


def test_packs_have_no_membership_terms() -> None:
    with pytest.raises(InvalidArgument) as refused:
        validate_plan(
            "olaya",
            "Ten",
            "عشر",
            PlanKind.CLASS_PACK,
            "SAR",
            30_000,
            1500,
            10,
            30,
            commitment_periods=3,
        )
    assert [v.message_key for v in refused.value.violations] == ["plan.terms_for_memberships"]
