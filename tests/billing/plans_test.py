"""Plans and plan-change quotes, against real Postgres."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from stride.billing.domain.plans import PlanKind
from stride.billing.service_layer import plans
from stride.billing.service_layer.commands import CreatePlan, QuotePlanChange
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.auth import Principal, authenticated_as
from stride.platform.errors import InvalidArgument, PermissionDenied

MANAGER = Principal(user_id=str(uuid.uuid4()), roles=frozenset({"manager"}), studio="studios/olaya")
MEMBER = Principal(user_id=str(uuid.uuid4()), roles=frozenset({"member"}))
START = datetime(2026, 12, 1, tzinfo=UTC)


async def monthly(
    new_uow: partial[BillingUnitOfWork], price: int, currency: str = "SAR"
) -> uuid.UUID:
    with authenticated_as(MANAGER):
        plan = await plans.create_plan(
            new_uow(),
            CreatePlan(
                "olaya", "Monthly", "شهري", PlanKind.MONTHLY_MEMBERSHIP, currency, price, 1500
            ),
        )
    return plan.id


async def test_an_upgrade_mid_month_is_quoted_in_halalas(
    new_uow: partial[BillingUnitOfWork],
) -> None:
    basic, premium = await monthly(new_uow, 30_000), await monthly(new_uow, 60_000)
    with authenticated_as(MEMBER):
        quote = await plans.quote_plan_change(
            new_uow(),
            QuotePlanChange(
                "olaya",
                basic,
                premium,
                START,
                START + timedelta(days=30),
                START + timedelta(days=15),
            ),
        )
        listed = await plans.list_plans(new_uow(), "olaya", 0, 10)
    assert [line.net_minor for line in quote.lines] == [-15_000, 30_000]
    assert (quote.net_minor, quote.vat_minor, quote.total_minor) == (15_000, 2_250, 17_250)
    assert {basic, premium} <= {plan.id for plan in listed}


async def test_only_the_studios_staff_create_plans(new_uow: partial[BillingUnitOfWork]) -> None:
    with authenticated_as(MEMBER), pytest.raises(PermissionDenied):
        await plans.create_plan(
            new_uow(),
            CreatePlan("olaya", "Free", "مجاني", PlanKind.MONTHLY_MEMBERSHIP, "SAR", 0, 1500),
        )
    with authenticated_as(MANAGER), pytest.raises(InvalidArgument) as refused:
        await plans.create_plan(
            new_uow(), CreatePlan("olaya", "Odd", "غريب", PlanKind.CLASS_PACK, "XYZ", -1, 20_000)
        )
    assert {v.field for v in refused.value.violations} == {
        "plan.price.currency_code",
        "plan.price.amount_minor",
        "plan.vat_rate_basis_points",
        "plan.credits",
    }


async def test_quotes_refuse_mixed_currencies_and_changes_outside_the_period(
    new_uow: partial[BillingUnitOfWork],
) -> None:
    riyals, dirhams = await monthly(new_uow, 30_000), await monthly(new_uow, 30_000, "AED")
    end = START + timedelta(days=30)
    with authenticated_as(MEMBER):
        with pytest.raises(InvalidArgument):
            await plans.quote_plan_change(
                new_uow(), QuotePlanChange("olaya", riyals, dirhams, START, end, START)
            )
        with pytest.raises(InvalidArgument):
            await plans.quote_plan_change(
                new_uow(), QuotePlanChange("olaya", riyals, riyals, START, end, end)
            )
